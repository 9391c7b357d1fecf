"""prodimg's signals. Receivers get `sender` (the model class) plus the arguments listed."""
from django.dispatch import Signal

# job: ImageJob, error: str
job_failed = Signal()
# generated: GeneratedImage, user: User | None
image_approved = Signal()
# generated: GeneratedImage, user: User | None
image_rejected = Signal()
# event: ImageEvent (an impression the storefront recorded)
image_shown = Signal()
# event: ImageEvent (a click, add-to-cart or purchase)
image_clicked = Signal()
# events: list[ImageEvent] (a batch stored together, after image_shown / image_clicked for each)
events_recorded = Signal()
# job: ImageJob, images: list[GeneratedImage] (a variants, edits or enhance job committed its images)
images_generated = Signal()
# the old name of images_generated, kept for hosts that listen to it (it is sent for every kind of job)
variants_generated = images_generated
