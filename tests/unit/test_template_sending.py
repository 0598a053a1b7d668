"""template.yaml's storage for sending: SendStateTable (pacing and per-server counts) and EmailsBucket (the
e-mails' content), as the sending design says."""

from __future__ import annotations

from local_runtime import template

DOC = template.default()
TABLES = template.resources(DOC, "AWS::DynamoDB::Table")
RESOURCES = DOC["Resources"]


def test_the_send_state_table_is_keyed_by_pk_expires_and_is_kept_like_the_others() -> None:
    table = TABLES["SendStateTable"]
    props = table["Properties"]

    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "GlobalSecondaryIndexes" not in props
    assert DOC["Outputs"]["SendStateTableName"]["Value"] == {"Ref": "SendStateTable"}


def test_the_emails_bucket_is_encrypted_private_and_kept() -> None:
    bucket = RESOURCES["EmailsBucket"]
    props = bucket["Properties"]

    assert bucket["Type"] == "AWS::S3::Bucket"
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert DOC["Outputs"]["EmailsBucketName"]["Value"] == {"Ref": "EmailsBucket"}


def test_the_emails_bucket_refuses_every_request_not_over_tls() -> None:
    policy = RESOURCES["EmailsBucketPolicy"]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]

    assert policy["Bucket"] == {"Ref": "EmailsBucket"}
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["EmailsBucket", "Arn"]},
        {"Fn::Sub": "${EmailsBucket.Arn}/*"},
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_lifecycle_aborts_uploads_after_a_day_and_expires_content_after_the_parameter() -> None:
    rules = {
        rule["Id"]: rule
        for rule in RESOURCES["EmailsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }

    assert rules["AbortIncompleteUploads"]["Status"] == "Enabled"
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["ExpireContent"]["Status"] == "Enabled"
    assert rules["ExpireContent"]["Prefix"] == "content/"
    assert rules["ExpireContent"]["ExpirationInDays"] == {"Ref": "ContentMaxAgeDays"}
    parameter = DOC["Parameters"]["ContentMaxAgeDays"]
    # Longer than a year's senddate, a day's retries and the 30 days a finished e-mail's record is kept.
    assert parameter["Default"] >= 365 + 1 + 30
    assert parameter["MinValue"] >= 1
