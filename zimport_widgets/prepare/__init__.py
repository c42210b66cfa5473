"""Step 1, prepare: read a source, check every value against the import rules, write import files.

- ``rules``: the one table of what the importer takes (types, limits, file kinds).
- Reading: ``sources`` opens any source (``open_source``); rows come from ``json_rows`` (blocks at C
  speed through ``json_blocks``), ``jsonl_rows`` and ``csv_rows``; ``infer`` guesses a schema.
- Checking and writing rows: ``row_loop`` runs rows through ``columns`` (``<field>.npy`` writers;
  ``npy_format`` writes their headers) and ``py_column`` (what only Arrow can hold); columnar sources go
  through ``arrow_conform``; ``json_text`` is the strict JSON both use.
- Output: ``convert_any.convert`` is the entry point; ``convert.write_numpy`` and
  ``parquet_out.write_arrow_files`` (Parquet or JSON, through ``arrow_sinks``) the writers; ``split`` their
  parallel path for a large JSON file.
- ``checks`` (with ``checks_numpy``, ``checks_parquet`` and ``report``) finds what the cloud would refuse;
  ``samples`` makes the tutorial's dataset.
"""
