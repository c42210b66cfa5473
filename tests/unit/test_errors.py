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
