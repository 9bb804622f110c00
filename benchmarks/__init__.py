"""`make bench` (benchmarks/run.py): the system measured side by side with baselines on this
machine; each part runnable alone."""

import os

# The bench runs on the test stack (services/with-test-stack.sh) with test tokens: unset, the
# environment is production, which refuses the built-in development signing key.
os.environ.setdefault("HOTLINE_ENVIRONMENT", "test")
