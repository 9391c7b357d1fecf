"""Training runs behind `manage.py prodimg_train`: one adapter per model kind over a shared run (budget, checkpoints, loss curves, export, ModelVersion)."""
