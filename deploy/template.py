"""Generate what `chalice package` needs beyond the code, from the code itself.

* the merge template: every DynamoDB table of ``chalicelib.store`` (keys, GSIs, TTL, point-in-time recovery,
  deletion protection, on-demand billing, encryption), the private encrypted uploads bucket, the web hall's
  static site (private bucket + CloudFront, /v1/* forwarded to the API on the same origin), a dead-letter
  queue and failure destination for every scheduled function, 180-day log retention;
* the jobs queue (shards of the jobs that fan out, dead-lettered after three failed receives) and its worker's
  event source;
* least-privilege IAM policies: the API function, each scheduled function with only its own tables, and the job
  worker with the fan-out jobs' tables and the jobs queue.

    python -m deploy.template --stage prod --out out/
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG_RETENTION_DAYS = 180

# Tables each scheduled function touches (logical names). A job not listed gets no table access.
JOB_TABLES: dict[str, tuple[str, ...]] = {
    "open-remittance-window": ("state",),
    "close-remittance-window": ("state",),
    "send-appointment-reminders": ("appointments", "people", "users", "messages", "sms-outbox", "state"),
    "send-remittance-reminders": ("accounts", "people", "users", "messages", "sms-outbox", "state"),
    "loan-offset-deduction": ("loans", "repayments", "accounts", "ledger", "people", "users", "messages",
                              "sms-outbox", "state", "business", "audit"),
    "settle-annual-interest": ("accounts", "ledger", "people", "users", "messages", "sms-outbox", "state", "audit"),
    "dispatch-sms": ("sms-outbox", "audit"),
    "reprice-loans": ("loans", "people", "users", "messages", "sms-outbox", "state", "audit"),
    # not scheduled: `gjj import`'s chunks, worked by the job worker (chalicelib/importer_fanout.py)
    "import": ("units", "people", "accounts", "ledger", "loans", "repayments", "branches", "properties", "notices",
               "state"),
}
JOB_NEEDS_SNS = {"dispatch-sms"}
# The fan-out jobs whose shards are parallel-scan segments (jobs_fanout.FanoutJob.scan): what their worker scans,
# (table, index or "" for the table itself). Nothing else may Scan.
JOB_SCANS: dict[str, tuple[tuple[str, str], ...]] = {
    "send-remittance-reminders": (("accounts", "remit-index"),),
    "reprice-loans": (("loans", ""),),       # no index on loan status: the table's own segments
}
WORKER = "job-worker"                 # the function that works the shards of the jobs that fan out (app.job_worker)
WORKER_MAX_RECEIVES = 3               # a shard's message failing this often goes to the dead-letter queue
WORKER_VISIBILITY_SECONDS = 960       # longer than the worker may run (900 s), as an SQS event source requires


def fanout_jobs() -> list[str]:
    from chalicelib import jobs_fanout

    return sorted(jobs_fanout.REGISTRY)


def worker_tables() -> tuple[str, ...]:
    """The worker runs every fan-out job's shards: the union of their tables."""
    return tuple(sorted({t for name in fanout_jobs() for t in JOB_TABLES.get(name, ())}))


def worker_scans(stage: str) -> list[dict[str, str]]:
    """The tables and indexes the worker scans in segments (:data:`JOB_SCANS` of the fan-out jobs)."""
    pairs = sorted({pair for name in fanout_jobs() for pair in JOB_SCANS.get(name, ())})
    return [_arn("dynamodb", f"table/gjj-{stage}-{table}" + (f"/index/{index}" if index else ""))
            for table, index in pairs]


_DDB_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem",
             "dynamodb:DescribeTable"]
_DDB_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]


def _cfn_name(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", text) if part)


def table_resources(stage: str) -> dict[str, Any]:
    from chalicelib.store import base

    resources: dict[str, Any] = {}
    for model in base.all_models():
        logical = model.Meta.logical_name
        schema = model._get_schema()
        props: dict[str, Any] = {
            "TableName": f"gjj-{stage}-{logical}",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": schema["attribute_definitions"],
            "KeySchema": sorted(schema["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "SSESpecification": {"SSEEnabled": True},
        }
        gsis = [{"IndexName": g["index_name"],
                 "KeySchema": sorted(g["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
                 "Projection": g["projection"]} for g in schema.get("global_secondary_indexes", [])]
        if gsis:
            props["GlobalSecondaryIndexes"] = gsis
        ttl = [name for name, attr in model.get_attributes().items() if type(attr).__name__ == "TTLAttribute"]
        if ttl:
            props["TimeToLiveSpecification"] = {"AttributeName": model.get_attributes()[ttl[0]].attr_name,
                                                "Enabled": True}
        resources[f"Table{_cfn_name(logical)}"] = {
            "Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": props,
        }
    return resources


def _arn(service: str, resource: str, *, here: bool = True) -> dict[str, str]:
    """An ARN in the stack's own partition (``aws-cn`` in the China regions, where the center deploys) and,
    with ``here``, its own region and account."""
    where = "${AWS::Region}:${AWS::AccountId}" if here else "*:*"
    if service == "s3":
        where = ":"
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{where}:{resource}"}


def _table_arns(stage: str, names: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    arns = []
    for name in names:
        arns += [_arn("dynamodb", f"table/gjj-{stage}-{name}"), _arn("dynamodb", f"table/gjj-{stage}-{name}/index/*")]
    return arns


def _logs_statement() -> dict[str, Any]:
    return {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _arn("logs", "log-group:/aws/lambda/*")}


# SMS straight to a phone number (no topic): every topic ARN is excluded, so a phone number is all that is left.
_SMS_STATEMENT = {"Effect": "Allow", "Action": ["sns:Publish"], "NotResource": _arn("sns", "*", here=False)}


def api_policy(stage: str) -> dict[str, Any]:
    from chalicelib.store import base

    tables = [m.Meta.logical_name for m in base.all_models()]
    return {"Version": "2012-10-17", "Statement": [
        _logs_statement(),
        {"Effect": "Allow", "Action": _DDB_READ + _DDB_WRITE, "Resource": _table_arns(stage, tables)},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": _arn("s3", f"gjj-{stage}-uploads/*")},
        _SMS_STATEMENT,
        {"Effect": "Allow", "Action": ["rekognition:CompareFaces"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": _arn("ssm", f"parameter/gjj/{stage}/*")},
    ]}


def job_policy(stage: str, job_name: str) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [_logs_statement()]
    tables = JOB_TABLES.get(job_name, ())
    if tables:
        statements.append({"Effect": "Allow", "Action": _DDB_READ + _DDB_WRITE,
                           "Resource": _table_arns(stage, tables)})
    if job_name in JOB_NEEDS_SNS:
        statements.append(_SMS_STATEMENT)
    if job_name in fanout_jobs():       # the coordinator sends the shards' messages
        statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                           "Resource": {"Fn::GetAtt": ["JobsQueue", "Arn"]}})
    statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage"],
                       "Resource": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}})
    statements.append({"Effect": "Allow", "Action": ["ssm:GetParameter"],
                       "Resource": _arn("ssm", f"parameter/gjj/{stage}/*")})
    return {"Version": "2012-10-17", "Statement": statements}


def worker_policy(stage: str) -> dict[str, Any]:
    """The job worker: the fan-out jobs' tables (and Scan of the indexes read in segments only); receive, delete and
    (continuations) send on the jobs queue only."""
    scans = worker_scans(stage)
    return {"Version": "2012-10-17", "Statement": [
        _logs_statement(),
        {"Effect": "Allow", "Action": _DDB_READ + _DDB_WRITE, "Resource": _table_arns(stage, worker_tables())},
        *([{"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": scans}] if scans else []),
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                       "sqs:ChangeMessageVisibility", "sqs:SendMessage", "sqs:GetQueueUrl"],
         "Resource": {"Fn::GetAtt": ["JobsQueue", "Arn"]}},
        {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": _arn("ssm", f"parameter/gjj/{stage}/*")},
        # `gjj import` puts its file here; the workers read their chunks' byte ranges
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": _arn("s3", f"gjj-{stage}-uploads/imports/*")},
    ]}


def merge_template(stage: str) -> dict[str, Any]:
    from chalicelib import jobs

    resources = table_resources(stage)
    resources["UploadsBucket"] = {
        "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": f"gjj-{stage}-uploads",
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": [{"Id": "expire-unclaimed-uploads", "Status": "Enabled",
                                                  "Prefix": "incoming/", "ExpirationInDays": 7},
                                                 {"Id": "expire-import-files", "Status": "Enabled",
                                                  "Prefix": "imports/", "ExpirationInDays": 30}]},
        },
    }
    resources["JobsDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"gjj-{stage}-jobs-dlq", "MessageRetentionPeriod": 1209600,
                       "SqsManagedSseEnabled": True},
    }
    resources["JobsQueue"] = {     # the shards of the jobs that fan out (chalicelib/jobs_fanout.py)
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"gjj-{stage}-jobs", "VisibilityTimeout": WORKER_VISIBILITY_SECONDS,
            "MessageRetentionPeriod": 345600, "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                              "maxReceiveCount": WORKER_MAX_RECEIVES},
        },
    }
    # chalice writes the worker's event source as an ARN built from the queue's name; the merge (key by key) makes
    # it the queue above's, so the stack creates the queue before the mapping
    resources["JobWorker"] = {"Properties": {"Events": {"JobWorkerSqsEventSource": {"Properties": {
        "Queue": {"Fn::Sub": "${JobsQueue.Arn}"}}}}}}
    for job in jobs.JOBS.values():
        fn = _cfn_name(job.function_name)
        resources[f"{fn}InvokeConfig"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": fn},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "MaximumEventAgeInSeconds": 3600,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}},
            },
        }
    resources["JobsDeadLetterAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": ("A scheduled function gave up on an event, or a job worker on a shard's message "
                                 "(see the jobs dead-letter queue)"),
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}],
            "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        },
    }
    resources.update(web_hall_resources(stage))
    # Chalice 1.34 names the API's log group after "${ApiHandler}" while the function resource is
    # "APIHandler"; the merge replaces the broken reference (cfn-lint E1019/E3030 otherwise).
    resources["ApiHandlerLogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"},
                       "RetentionInDays": LOG_RETENTION_DAYS},
    }
    return {"Resources": resources, "Outputs": {
        "WebHallUrl": {"Description": "The personal web hall (个人网厅); the API is under /v1/ on the same origin",
                       "Value": {"Fn::Sub": "https://${WebHallDistribution.DomainName}/"}},
        "WebHallBucketName": {"Description": "Upload web/ here: index.html at the root, the rest under web/",
                              "Value": {"Ref": "WebHallBucket"}},
    }}


# CloudFront's managed policies (the same ids in every account)
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def web_hall_resources(stage: str) -> dict[str, Any]:
    """The personal web hall as a static site: a private bucket read only by one CloudFront distribution
    (origin access control), which also forwards ``/v1/*`` uncached to the API Gateway stage, so the page calls
    the API on its own origin as it does locally (``chalicelib/webhall.py``), with the same security headers."""
    from chalicelib.webhall import CSP

    return {
        "WebHallBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": f"gjj-{stage}-web",
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        },
        "WebHallOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {"OriginAccessControlConfig": {
                "Name": f"gjj-{stage}-web", "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always", "SigningProtocol": "sigv4"}},
        },
        "WebHallBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "WebHallBucket"}, "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "OnlyTheWebHallDistributionReads", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${WebHallBucket}/*"},
                    "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": (
                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${WebHallDistribution}")}}},
                }, {
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": ["WebHallBucket", "Arn"]},
                                 {"Fn::Sub": "arn:${AWS::Partition}:s3:::${WebHallBucket}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            }},
        },
        "WebHallHeaders": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {"ResponseHeadersPolicyConfig": {
                "Name": f"gjj-{stage}-web-headers",
                "SecurityHeadersConfig": {
                    "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
                    "StrictTransportSecurity": {"AccessControlMaxAgeSec": 31536000, "IncludeSubdomains": True,
                                                "Override": True},
                },
            }},
        },
        "WebHallDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {
                "Enabled": True, "Comment": f"gjj {stage} personal web hall (个人网厅) and its API",
                "DefaultRootObject": "index.html", "HttpVersion": "http2", "IPV6Enabled": True,
                "Origins": [
                    {"Id": "web", "DomainName": {"Fn::GetAtt": ["WebHallBucket", "RegionalDomainName"]},
                     "S3OriginConfig": {"OriginAccessIdentity": ""},
                     "OriginAccessControlId": {"Fn::GetAtt": ["WebHallOriginAccessControl", "Id"]}},
                    {"Id": "api", "DomainName": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
                     "OriginPath": "/api",
                     "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}},
                ],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
                    "AllowedMethods": ["GET", "HEAD"], "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": {"Ref": "WebHallHeaders"},
                },
                "CacheBehaviors": [{
                    "PathPattern": "/v1/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only",
                    "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    "CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
                    "Compress": True,
                }],
            }},
        },
    }


def write(stage: str, out: Path) -> list[Path]:
    """Write the merge template to ``out`` and the IAM policy files into ``.chalice/``."""
    from chalicelib import jobs

    out.mkdir(parents=True, exist_ok=True)
    written = []
    template = out / "resources.json"
    template.write_text(json.dumps(merge_template(stage), indent=2, ensure_ascii=False))
    written.append(template)
    chalice_dir = ROOT / ".chalice"
    policy = chalice_dir / f"policy-{stage}.json"
    policy.write_text(json.dumps(api_policy(stage), indent=2))
    written.append(policy)
    for job in jobs.JOBS.values():
        path = chalice_dir / f"policy-{stage}-{job.name}.json"
        path.write_text(json.dumps(job_policy(stage, job.name), indent=2))
        written.append(path)
    path = chalice_dir / f"policy-{stage}-{WORKER}.json"
    path.write_text(json.dumps(worker_policy(stage), indent=2))
    written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", default="prod", choices=("dev", "prod"))
    parser.add_argument("--out", default="out")
    args = parser.parse_args()
    for path in write(args.stage, Path(args.out)):
        print(path)


if __name__ == "__main__":
    main()
