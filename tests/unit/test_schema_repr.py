from zimport_widgets.prepare.samples import sample_schema
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema


def test_schema_repr_lists_fields_types_and_key():
    text = repr(sample_schema())
    assert text.splitlines()[0] == "CollectionSchema 'medium_articles' (dynamic field off):"
    assert "id            Int64 primary key" in text
    assert "title_vector  FloatVector(dim=768)" in text


def test_schema_repr_marks_auto_id_and_nullable():
    schema = CollectionSchema(
        fields=(
            FieldSchema("pk", DataType.INT64, is_primary=True, auto_id=True),
            FieldSchema("note", DataType.VARCHAR, max_length=8, nullable=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, dim=4),
        ),
        enable_dynamic_field=True,
    )
    text = repr(schema)
    assert "(dynamic field on)" in text
    assert "pk    Int64 primary key, auto id" in text
    assert "note  VarChar(max_length=8), nullable" in text
    assert "<table>" in schema._repr_html_()
