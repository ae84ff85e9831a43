"""Which DynamoDB failures are "try again" (503) rather than a refusal or a bug."""

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.store.transient import is_transient


def _client_error(code, reasons=None):
    response = {"Error": {"Code": code, "Message": "m"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "Op")


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "TransactionConflictException", "InternalServerError"])
def test_throttling_and_conflicts_wrapped_by_pynamodb_are_transient(code):
    cause = _client_error(code)
    assert is_transient(PutError("Failed to put item", cause))


def test_a_transaction_cancelled_by_a_conflict_is_transient_but_not_by_a_failed_condition():
    assert is_transient(TransactWriteError("x", _client_error("TransactionCanceledException",
                                                              ["None", "TransactionConflict"])))
    assert not is_transient(TransactWriteError("x", _client_error("TransactionCanceledException",
                                                                  ["ConditionalCheckFailed", "None"])))


def test_a_lost_answer_is_transient_and_a_failed_condition_or_a_bug_is_not():
    assert is_transient(PutError("x", ReadTimeoutError(endpoint_url="http://ddb")))
    assert not is_transient(PutError("x", _client_error("ConditionalCheckFailedException")))
    assert not is_transient(KeyError("bug"))
