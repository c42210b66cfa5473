"""Shared fixtures. Sandbox fixtures live in sandbox_fixtures.py (sandbox, sandbox_faults, sandbox_env,
fresh_sandbox, oss_store)."""

from sandbox_fixtures import (  # noqa: F401
    fresh_sandbox,
    milvus_sandbox,
    oss_store,
    sandbox,
    sandbox_env,
    sandbox_faults,
)
