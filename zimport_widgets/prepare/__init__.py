"""Step 1, prepare: read a source row by row, check it against the import rules, write import files.

``rules`` is the one table of what the importer takes; ``json_rows`` reads JSON rows (whole blocks at C
speed through ``json_blocks``); ``infer`` guesses a schema from sample rows; ``columns`` and
``row_loop`` turn rows into ``<field>.npy`` files (``npy_format`` writes their headers); ``convert`` is
the entry point and ``split`` its parallel path; ``checks`` (with ``checks_numpy`` and ``report``)
finds what the cloud would refuse; ``samples`` makes the tutorial's dataset.
"""
