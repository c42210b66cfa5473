"""zimport_widgets: bulk-import data into Zilliz Cloud from Jupyter."""
__version__ = "0.1.0"
