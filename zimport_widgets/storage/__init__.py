"""Step 2, storage: put the prepared files in the cluster's object store and hand out the object URL.

``plan`` maps files to keys before any request; ``oss`` is the Aliyun OSS backend (every ``oss2`` call,
with ``oss_errors`` its error table); ``upload`` sends a plan through a backend (skip what is there,
verify what was sent, CRC64 end to end) and returns ``results``; ``object_url`` builds the URL forms.
"""
