from intake_service.store import metadata
from shared.runtime.migrations import run_env

run_env(metadata)
