"""Steps 3 and 4, cloud: start the import through the REST API, follow the job, verify the collection.

``http`` is the one session (envelopes, bounded retries through :func:`zimport_widgets.retry.retry`);
``dialects`` holds the import APIs as classes (v1, v2, self-hosted Milvus); ``endpoints`` derives hosts
from a cluster endpoint; ``jobs`` normalises job states; ``client`` is :class:`ImportClient`, whose
data-plane calls (collections, count, search, verify) come from ``data_plane``.
"""
