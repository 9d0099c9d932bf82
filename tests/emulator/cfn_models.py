"""CloudFormation support that moto 5.2.5 lacks, for the resource types stripe-bridge's
stack uses: AWS::SecretsManager::Secret, AWS::ApiGatewayV2::Api/Integration/Route/Stage,
AWS::Events::EventBusPolicy, AWS::CloudWatch::Alarm, AWS::SQS::QueuePolicy and
AWS::SNS::Subscription.

moto skips resource types it has no model for, so a stack "creates" without them and
an Output with `!GetAtt HttpApi.ApiEndpoint` fails. Each class here delegates to moto's
own service backend, so what the stack makes is visible through that service's API.

moto finds models among the *direct* subclasses of CloudFormationModel, and derives the
service from the class's module: hence `__module__ = "moto.<service>.…"` on each. Importing
this module before the server starts is enough to register them.
"""

import json

from moto.apigatewayv2.models import apigatewayv2_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.events.models import events_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends


def _properties(cloudformation_json):
    return cloudformation_json.get("Properties", {})


def _tags(properties):
    return [{"Key": t["Key"], "Value": t["Value"]} for t in properties.get("Tags", [])]


class Secret(CloudFormationModel):
    __module__ = "moto.secretsmanager.stripe_bridge"

    def __init__(self, arn, name):
        self.arn = arn
        self.name = name

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name):
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = _properties(cloudformation_json)
        name = properties.get("Name") or resource_name
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=name,
            secret_string=properties.get("SecretString"),
            secret_binary=None,
            description=properties.get("Description"),
            tags=_tags(properties),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"], name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        # The value is the user's (set-secret writes it); a stack update leaves it alone,
        # as CloudFormation does when SecretString is unchanged in the template.
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        # CloudFormation deletes a stack's secret at once, without a recovery window.
        secretsmanager_backends[account_id][region_name].delete_secret(
            secret_id=resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class HttpApi(CloudFormationModel):
    __module__ = "moto.apigatewayv2.stripe_bridge"

    def __init__(self, api):
        self.api = api

    @property
    def physical_resource_id(self):
        return self.api.api_id

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Api"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("ApiEndpoint", "ApiId")

    def get_cfn_attribute(self, attribute_name):
        return self.api.api_endpoint if attribute_name == "ApiEndpoint" else self.api.api_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = _properties(cloudformation_json)
        api = apigatewayv2_backends[account_id][region_name].create_api(
            api_key_selection_expression=None,
            cors_configuration=None,
            description=properties.get("Description"),
            disable_schema_validation=None,
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=properties.get("Name") or resource_name,
            protocol_type=properties["ProtocolType"],
            route_selection_expression=None,
            tags=properties.get("Tags") or {},
            version=None,
        )
        return cls(api)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        apigatewayv2_backends[account_id][region_name].delete_api(resource_name)


class _ApiChild:
    """A part of an HTTP API. Deleting the API deletes its parts, so deleting a part alone
    is a no-op here; moto deletes the stack's API too. A mixin, not a model: moto only
    finds direct subclasses of CloudFormationModel."""

    def __init__(self, physical_id):
        self.physical_id = physical_id

    @property
    def physical_resource_id(self):
        return self.physical_id

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass


class Integration(_ApiChild, CloudFormationModel):
    __module__ = "moto.apigatewayv2.stripe_bridge"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Integration"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        integration = apigatewayv2_backends[account_id][region_name].create_integration(
            api_id=p["ApiId"],
            connection_id=None,
            connection_type=None,
            content_handling_strategy=None,
            credentials_arn=None,
            description=p.get("Description"),
            integration_method=p.get("IntegrationMethod"),
            integration_subtype=None,
            integration_type=p["IntegrationType"],
            integration_uri=p.get("IntegrationUri"),
            passthrough_behavior=None,
            payload_format_version=p.get("PayloadFormatVersion"),
            request_parameters=None,
            request_templates=None,
            response_parameters=None,
            template_selection_expression=None,
            timeout_in_millis=p.get("TimeoutInMillis"),
            tls_config=None,
        )
        return cls(integration.id)


class Route(_ApiChild, CloudFormationModel):
    __module__ = "moto.apigatewayv2.stripe_bridge"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Route"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        route = apigatewayv2_backends[account_id][region_name].create_route(
            api_id=p["ApiId"],
            api_key_required=False,
            authorization_scopes=[],
            authorization_type=p.get("AuthorizationType"),
            authorizer_id=None,
            model_selection_expression=None,
            operation_name=None,
            request_models=None,
            request_parameters=None,
            route_key=p["RouteKey"],
            route_response_selection_expression=None,
            target=p.get("Target"),
        )
        return cls(route.route_id)


class Stage(_ApiChild, CloudFormationModel):
    __module__ = "moto.apigatewayv2.stripe_bridge"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        config = {"stageName": p["StageName"], "autoDeploy": p.get("AutoDeploy")}
        if "DefaultRouteSettings" in p:
            config["defaultRouteSettings"] = {
                k[0].lower() + k[1:]: v for k, v in p["DefaultRouteSettings"].items()
            }
        apigatewayv2_backends[account_id][region_name].create_stage(p["ApiId"], config)
        return cls(p["StageName"])


def _outputs_after_change_sets():
    """moto 5.2.5 computes a stack's outputs when the stack is made and on update_stack,
    but not when a change set runs: a stack made by a CREATE change set reports no
    outputs. Recompute them, from the template the change set brought, after it runs,
    as CloudFormation does."""
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_and_refresh_outputs(self, change_set_name, stack_name=None):
        execute(self, change_set_name, stack_name)
        for stack in list(self.stacks.values()):
            # moto can hold, beside the stack the change set made, the placeholder it
            # reviewed it in, whose template is an empty dict: that one has no outputs.
            named = stack.name == stack_name or stack.stack_id == stack_name
            if named and isinstance(stack.template, str) and stack.template:
                stack._parse_template()
                stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_and_refresh_outputs


_outputs_after_change_sets()


def _lambda_environment_as_strings():
    """CloudFormation passes a Lambda's environment variables as strings (a `Ref` to a
    Number parameter included); moto 5.2.5 passes the number through, and the SDK then
    cannot read the function back. Turn each value into a string first."""
    from moto.awslambda.models import LambdaFunction

    def stringified(cloudformation_json):
        variables = (
            cloudformation_json.get("Properties", {}).get("Environment", {}).get("Variables")
        )
        if variables:
            for key, value in variables.items():
                variables[key] = value if isinstance(value, str) else json.dumps(value)
        return cloudformation_json

    create = LambdaFunction.create_from_cloudformation_json.__func__
    update = LambdaFunction.update_from_cloudformation_json.__func__

    # moto calls these with keyword arguments: the names must match its own.
    def create_with_strings(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return create(cls, resource_name, stringified(cloudformation_json), account_id, region_name, **kwargs)

    def update_with_strings(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return update(
            cls, original_resource, new_resource_name, stringified(cloudformation_json), account_id, region_name
        )

    LambdaFunction.create_from_cloudformation_json = classmethod(create_with_strings)
    LambdaFunction.update_from_cloudformation_json = classmethod(update_with_strings)


_lambda_environment_as_strings()


def _kms_key_tags_as_kms_takes_them():
    """CloudFormation tags a KMS key with `Key`/`Value` pairs, as every resource, and
    takes its policy as a JSON object; moto 5.2.5 hands both on to its KMS backend, which
    reads `TagKey`/`TagValue` and the policy's text. Convert them first, as
    CloudFormation's own handler does for CreateKey."""
    from moto.kms.models import Key

    create = Key.create_from_cloudformation_json.__func__

    def create_with_kms_tags(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        if "Tags" in properties:
            properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties["Tags"]]
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_with_kms_tags)


_kms_key_tags_as_kms_takes_them()


def _archive_pattern_as_text():
    """CloudFormation takes an archive's EventPattern as a JSON object; moto 5.2.5 expects
    the text of one. Serialise it first."""
    from moto.events.models import Archive

    create = Archive.create_from_cloudformation_json.__func__

    def create_with_text(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if isinstance(properties.get("EventPattern"), dict):
            properties["EventPattern"] = json.dumps(properties["EventPattern"])
        if properties.get("ArchiveName"):
            resource_name = properties["ArchiveName"]
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Archive.create_from_cloudformation_json = classmethod(create_with_text)
    # `Ref` of an archive is its name (CloudFormation User Guide, AWS::Events::Archive).
    Archive.physical_resource_id = property(lambda self: self.name)


_archive_pattern_as_text()


class EventBusPolicy(CloudFormationModel):
    """One statement of a bus's resource policy, as EventBridge's PutPermission with a
    policy document sets it (CloudFormation's own handler does the same)."""

    __module__ = "moto.events.stripe_bridge"

    def __init__(self, bus, statement_id):
        self.bus = bus
        self.statement_id = statement_id

    @property
    def physical_resource_id(self):
        return self.statement_id

    @staticmethod
    def cloudformation_name_type():
        return "StatementId"

    @staticmethod
    def cloudformation_type():
        return "AWS::Events::EventBusPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = _properties(cloudformation_json)
        bus = properties.get("EventBusName") or "default"
        sid = properties["StatementId"]
        statement = dict(properties["Statement"], Sid=sid)
        events_backends[account_id][region_name].put_permission(
            event_bus_name=bus,
            action=None,
            principal=None,
            statement_id=sid,
            condition=None,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        return cls(bus, sid)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        cls._remove(original_resource.bus, original_resource.statement_id, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        properties = _properties(cloudformation_json)
        cls._remove(properties.get("EventBusName") or "default", properties["StatementId"], account_id, region_name)

    @staticmethod
    def _remove(bus, sid, account_id, region_name):
        try:
            events_backends[account_id][region_name].remove_permission(bus, sid, False)
        except Exception:  # the bus went first: its policy went with it
            pass


def _metric_data_queries(metrics):
    """An alarm's `Metrics` (metric math), as moto's PutMetricAlarm takes them."""
    if not metrics:
        return None
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    queries = []
    for m in metrics:
        stat = m.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=metric["MetricName"],
                    namespace=metric.get("Namespace"),
                    dimensions=[Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", [])],
                ),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=m["Id"],
                label=m.get("Label"),
                period=m.get("Period"),
                return_data=m.get("ReturnData"),
                expression=m.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


class Alarm(CloudFormationModel):
    """A metric alarm, as CloudWatch's PutMetricAlarm makes it. Its physical id is its
    name, as with CloudFormation's own handler."""

    __module__ = "moto.cloudwatch.stripe_bridge"

    def __init__(self, name, arn):
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return "AlarmName"

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        name = p.get("AlarmName") or resource_name
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)),
            threshold=float(p["Threshold"]),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            treat_missing_data=p.get("TreatMissingData"),
            metric_data_queries=_metric_data_queries(p.get("Metrics")),
        )
        return cls(name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([original_resource.name])
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    # moto deletes a stack's resource through its `delete` when it has one; the template's
    # properties are unresolved by then.
    def delete(self, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class QueuePolicy(CloudFormationModel):
    """A queue's resource policy, set (and on delete, cleared) through SQS's
    SetQueueAttributes, as CloudFormation's own handler does."""

    __module__ = "moto.sqs.stripe_bridge"

    def __init__(self, queue_urls):
        self.queue_urls = queue_urls

    @property
    def physical_resource_id(self):
        return ",".join(self.queue_urls)

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::SQS::QueuePolicy"

    @staticmethod
    def _set(urls, policy, account_id, region_name):
        backend = sqs_backends[account_id][region_name]
        for url in urls:
            backend.set_queue_attributes(url.rstrip("/").split("/")[-1], {"Policy": policy})

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        urls = list(p["Queues"])
        cls._set(urls, json.dumps(p["PolicyDocument"]), account_id, region_name)
        return cls(urls)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id, region_name):
        try:
            self._set(self.queue_urls, "", account_id, region_name)
        except Exception:  # the queue went first: its policy went with it
            pass


class TopicSubscription(CloudFormationModel):
    """A topic's subscription (`--notify-email`), made and on delete removed through SNS's
    Subscribe and Unsubscribe, as CloudFormation's own handler does; its physical id is
    the subscription's ARN. An email one then waits for its confirmation
    (subscription_confirmations.py)."""

    __module__ = "moto.sns.stripe_bridge"

    def __init__(self, arn):
        self.arn = arn

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = _properties(cloudformation_json)
        subscription = sns_backends[account_id][region_name].subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"])
        return cls(subscription.arn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id, region_name):
        try:
            sns_backends[account_id][region_name].unsubscribe(self.arn)
        except Exception:  # the topic went first: its subscriptions went with it
            pass
