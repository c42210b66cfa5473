"""Test support shared across layers: small data sets, the Milvus conformance corpus, a JupyterLab driver."""
