"""A variants handler that takes a few seconds (heartbeating), so a test can kill its worker mid-job."""
import time

from prodimg_plugin.services.variants import make_variants


def slow_variants(job, image, attrs, progress):
    for i in range(10):
        time.sleep(0.3)
        progress(0.05 + i * 0.05)
    return make_variants(job, image, attrs, progress)
