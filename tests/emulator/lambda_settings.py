"""Lambda's GetAccountSettings, which moto 5.2.5 lacks, answered as AWS does.

The account's concurrency limit is MOTO_LAMBDA_CONCURRENCY_QUOTA (moto's own variable,
which its PutFunctionConcurrency already enforces), 1000 by default as on AWS; the
unreserved concurrency is that limit less every function's reservation ("Lambda quotas"
and "Configuring reserved concurrency", Lambda Developer Guide).
"""

import json
import os

from moto.awslambda import urls
from moto.awslambda.responses import LambdaResponse

urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


def get_account_settings(self):
    quota = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000"))
    functions = self.backend.list_functions()
    reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
    return (
        200,
        {},
        json.dumps(
            {
                "AccountLimit": {
                    "TotalCodeSize": 80530636800,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                    "ConcurrentExecutions": quota,
                    "UnreservedConcurrentExecutions": quota - reserved,
                },
                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(functions)},
            }
        ),
    )


LambdaResponse.get_account_settings = get_account_settings
