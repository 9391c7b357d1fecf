"""prodimg's signals. Receivers get `sender` (the model class) plus the arguments listed."""
from django.dispatch import Signal

# job: ImageJob, images: list[GeneratedImage]
variants_generated = Signal()
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
