from sqlalchemy import MetaData

from audit_service.store.tables import metadata, projection
from shared.runtime.migrations import run_env

combined = MetaData()
for table in (*metadata.tables.values(), *projection.tables.values()):
    table.to_metadata(combined)
run_env(combined)
