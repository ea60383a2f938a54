import os

# Importing LiteLLM otherwise fetches its price map from GitHub: the tests run offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
