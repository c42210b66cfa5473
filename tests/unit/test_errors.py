from zimport_widgets.errors import DataFileError, ZillizAPIError, redact


def test_data_file_error_says_where_and_what_and_keeps_the_parts():
    exc = DataFileError("vector length mismatch", file="a.json", row=7, field="v", expected="768 floats", got="3")
    assert str(exc) == "a.json, row 7, field 'v': vector length mismatch (expected 768 floats, got 3)"
    assert exc.detail == "vector length mismatch"
    assert exc.what == "vector length mismatch (expected 768 floats, got 3)"
    assert DataFileError("no rows").what == "no rows" and str(DataFileError("no rows")) == "no rows"


def test_api_error_carries_code_status_and_documented_hint():
    exc = ZillizAPIError(47036, "The number of objects not equal", status=200, endpoint="POST /v1/x")
    assert exc.code == 47036 and "one <field>.npy per collection field" in str(exc)
    assert "POST /v1/x: code 47036" in str(exc)


def test_redact_masks_every_secret():
    assert redact("key=abcdef secret=ghijkl", ["abcdef", "ghijkl", None, ""]) == "key=*** secret=***"


def test_transport_errors_stand_beside_api_errors():
    from zimport_widgets import errors as e

    for network in (e.RequestNotSent, e.AmbiguousRequestError, e.DeadlineExceeded):
        assert issubclass(network, e.ZillizNetworkError) and not issubclass(network, e.ZillizAPIError)
    assert issubclass(e.RetryableStatus, e.ZillizAPIError) and not issubclass(e.RetryableStatus, e.ZillizNetworkError)
    assert e.ZillizAPIError.__mro__[1] is e.ZillizError and e.ZillizNetworkError.__mro__[1] is e.ZillizError
    assert issubclass(e.ZillizError, e.ZImportError) and not issubclass(e.StorageError, e.ZillizError)
    net = e.ZillizNetworkError("no route", endpoint="GET /x")
    assert str(net).startswith("GET /x: no route") and net.server_message == "no route"
    try:
        raise net
    except e.ZillizAPIError:  # pragma: no cover - the bug this guards against
        raise AssertionError("a network error was caught as an API error") from None
    except e.ZillizError:
        pass
