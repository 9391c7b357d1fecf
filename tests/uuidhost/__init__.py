"""A second host shop for the plugin, keyed by UUIDs (or strings), with its own field names.

Its settings (`tests.uuidhost.settings`) bind the plugin's tables to this app's models, so it runs in its own
process and test database: `test_uuid_host.py` starts `pytest --ds=tests.uuidhost.settings host_api.py` there.
Nothing here is imported by the main suite's settings.
"""
