"""Offline evaluations behind `manage.py prodimg_eval`: one per kind (gan, cvae, recommender)."""
