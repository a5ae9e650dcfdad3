"""The assets the DAGs pass between them (light: imported at parse time)."""

import os

from airflow.sdk import Asset

# Updated by ops_export_daily after every verified export; starts ops_train_register.
EXPORTS = Asset(name="okx_hft_exports", uri=f"s3://{os.environ.get('OPS_EXPORT_BUCKET', 'datasets')}/exports")
