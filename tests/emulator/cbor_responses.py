"""CloudWatch in the protocol the AWS SDKs now speak to it.

CloudWatch's SDKs (the Rust SDK's aws-sdk-cloudwatch among them) send Smithy RPC v2 CBOR
requests (`POST /service/GraniteServiceVersion20100801/operation/NAME`). moto 5.2.5
knows only CloudWatch's older query protocol, and answers those with a 404. For a
request that says `smithy-protocol: rpc-v2-cbor`, this turns the CBOR input into the
query form moto reads, and moto's XML answer into the CBOR document of the operation's
output shape (errors as `{"__type", "message"}`), with botocore's own parsers and
serializers and CloudWatch's service model ("Smithy RPC v2 CBOR protocol", Smithy
documentation).
"""

import io
import urllib.parse

import botocore.session
from botocore.parsers import QueryParser, RpcV2CBORParser
from botocore.serialize import QuerySerializer, RpcV2CBORSerializer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_models = {}


def _model(service):
    if service not in _models:
        _models[service] = botocore.session.get_session().get_service_model(service)
    return _models[service]


def _cbor(value, shape):
    out = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


def _error_cbor(code, message):
    # A structure with two strings, written by hand as botocore has no shape for it.
    out = bytearray([0xA2])
    for text in ("__type", code, "message", message):
        data = text.encode()
        out += _head(3, len(data)) + data
    return bytes(out)


def _head(major, length):
    if length < 24:
        return bytes([(major << 5) | length])
    if length < 256:
        return bytes([(major << 5) | 24, length])
    if length < 65536:
        return bytes([(major << 5) | 25]) + length.to_bytes(2, "big")
    return bytes([(major << 5) | 26]) + length.to_bytes(4, "big")


original_call = DomainDispatcherApplication.__call__


def call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
    if environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor" or "/operation/" not in path:
        return original_call(self, environ, start_response)
    operation = _model("cloudwatch").operation_model(path.rsplit("/", 1)[-1])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    parser = RpcV2CBORParser()
    params = parser.parse_data_item(parser.get_peekable_stream_from_bytes(raw)) if raw else {}
    form = urllib.parse.urlencode(QuerySerializer().serialize_to_request(params, operation)["body"]).encode()
    environ = dict(
        environ,
        PATH_INFO="/",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(form)),
        **{"wsgi.input": io.BytesIO(form)},
    )
    environ.pop("HTTP_SMITHY_PROTOCOL", None)
    answer = {}

    def capture(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return lambda data: None

    body = b"".join(original_call(self, environ, capture))
    content_type = dict(answer["headers"]).get("Content-Type", "")
    if "xml" not in content_type:
        start_response(answer["status"], answer["headers"])
        return [body]
    status = int(answer["status"].split()[0])
    parsed = QueryParser().parse(
        {"body": body, "headers": {}, "status_code": status}, operation.output_shape
    )
    if status >= 300:
        error = parsed.get("Error", {})
        data = _error_cbor(error.get("Code", "InternalFailure"), error.get("Message", ""))
    else:
        parsed.pop("ResponseMetadata", None)
        data = _cbor(parsed, operation.output_shape) if operation.output_shape else b"\xa0"
    start_response(
        answer["status"],
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(data))),
        ],
    )
    return [data]


DomainDispatcherApplication.__call__ = call
