import io
import json

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFilter, features

from ml.backdrop import BackdropConfig, connected_from, find_backdrop
from ml.enhance import EnhanceConfig, enhance, renditions, to_srgb, tone_curve
from ml.quality import QualityConfig, assess

SMALL = dict(target_size=(60, 80), rendition_sizes=((30, 40),), rendition_formats=("webp", "jpeg"))
ONLY_BACKGROUND = EnhanceConfig(
    trim=False, exposure=False, white_balance=False, contrast=False, centre=False, upscale=False,
    target_size=(90, 120), rendition_sizes=(),
)
EXPOSURE_ONLY = EnhanceConfig(trim=False, white_balance=False, white_backdrop=False, contrast=False, centre=False,
                              upscale=False, target_size=(90, 120), rendition_sizes=())


def product_photo(size=(90, 120), bg=(225, 225, 225), box=None, colour=(180, 40, 40), shadow=False, seed=0):
    """A striped product on a plain backdrop, optionally with a soft shadow below it; returns (image, box)."""
    w, h = size
    rng = np.random.default_rng(seed)
    arr = np.empty((h, w, 3), dtype=np.float32)
    arr[:] = bg
    x0, y0, x1, y1 = box or (w // 4, h // 5, 3 * w // 4, 4 * h // 5)
    if shadow:  # 20 % darker, feathered, offset below-right of the product
        m = Image.new("L", size, 0)
        m.paste(255, (x0 + 4, y0 + 6, x1 + 4, y1 + 6))
        arr *= 1 - 0.2 * np.asarray(m.filter(ImageFilter.GaussianBlur(3)), dtype=np.float32)[..., None] / 255
    stripes = (np.arange(y1 - y0) // 3 % 2 * 50 - 25)[:, None, None]
    arr[y0:y1, x0:x1] = np.asarray(colour, dtype=np.float32) + stripes
    arr += rng.normal(0, 1.5, arr.shape)
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8)), (x0, y0, x1, y1)


def non_white_box(image: Image.Image, tol: int = 24):
    arr = np.asarray(image.convert("RGB"), dtype=np.int16)
    ys, xs = np.nonzero((255 - arr).max(axis=-1) > tol)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_grey_background_turns_pure_white_and_product_keeps_its_colour():
    photo, (x0, y0, x1, y1) = product_photo()
    result = enhance(photo, ONLY_BACKGROUND)
    assert "background" in result.steps_applied
    before, after = np.asarray(photo, dtype=np.int16), np.asarray(result.image, dtype=np.int16)
    backdrop = np.ones(before.shape[:2], dtype=bool)
    backdrop[y0 - 3: y1 + 3, x0 - 3: x1 + 3] = False
    assert (after[backdrop] == 255).all(axis=-1).mean() > 0.98
    product = (slice(y0 + 1, y1 - 1), slice(x0 + 1, x1 - 1))
    changed = np.abs(after[product] - before[product]).max(axis=-1) > 6
    assert changed.mean() < 0.02


def test_soft_shadow_is_kept_as_a_shadow():
    photo, (x0, y0, x1, y1) = product_photo(shadow=True)
    after = np.asarray(enhance(photo, ONLY_BACKGROUND).image, dtype=np.float32)
    shadow = after[y1 + 1: y1 + 4, x0 + 8: x1 - 2].mean(axis=(0, 1))  # under the product, inside the shadow
    assert 180 < shadow.mean() < 245  # lighter than before (on white now), still visibly a shadow
    assert (after[2:6, 2:6] == 255).all()  # the corner is pure white


def test_dark_backdrop_is_left_alone():
    photo, _ = product_photo(bg=(40, 40, 40), colour=(200, 200, 60))
    assert "background" not in enhance(photo, ONLY_BACKGROUND).steps_applied


def test_off_centre_product_is_centred_on_a_3_4_canvas():
    photo, _ = product_photo(size=(160, 100), bg=(255, 255, 255), box=(8, 20, 48, 70))  # landscape, at the left
    result = enhance(photo, EnhanceConfig(**SMALL))
    assert result.image.size == (60, 80) and "centre" in result.steps_applied
    x0, y0, x1, y1 = non_white_box(result.image)
    assert abs((x0 + x1) / 2 - 30) <= 2 and abs((y0 + y1) / 2 - 40) <= 2
    assert min(x0, y0, 60 - x1, 80 - y1) >= 2  # a margin all round


def test_exif_orientation_applied_and_metadata_stripped():
    arr = np.full((20, 40, 3), 255, dtype=np.uint8)
    arr[:, :10] = (0, 0, 255)  # blue band on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    upright = to_srgb(Image.open(io.BytesIO(buf.getvalue())))
    assert upright.size == (20, 40)
    assert upright.getpixel((10, 2))[2] > 200 and upright.getpixel((10, 37))[2] > 200  # band now at the top
    assert upright.getpixel((10, 2))[0] < 80
    assert "exif" not in upright.info and not upright.getexif()
    result = enhance(Image.open(io.BytesIO(buf.getvalue())), EnhanceConfig(**SMALL))
    for data in result.renditions.values():
        decoded = Image.open(io.BytesIO(data))
        assert not decoded.getexif() and "icc_profile" not in decoded.info


def test_embedded_profile_is_converted_and_dropped():
    photo, _ = product_photo()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    photo.save(buf, format="PNG", icc_profile=icc)
    out = to_srgb(Image.open(io.BytesIO(buf.getvalue())))
    assert "icc_profile" not in out.info
    assert np.abs(np.asarray(out, dtype=np.int16) - np.asarray(photo, dtype=np.int16)).max() <= 3


@pytest.mark.parametrize("mode", ["P", "PA", "LA", "RGBA", "CMYK", "L", "1", "I;16", "I", "F", "YCbCr"])
def test_odd_modes_work(mode):
    photo, _ = product_photo()
    image = photo.convert("L").convert(mode) if mode in ("I;16", "I", "F") else photo.convert(mode)
    result = enhance(image, EnhanceConfig(**SMALL))
    assert result.image.mode == "RGB" and result.image.size == (60, 80)


def test_transparent_background_becomes_white():
    rgba = Image.new("RGBA", (60, 80), (0, 0, 0, 0))
    rgba.paste((20, 120, 20, 255), (20, 20, 40, 60))
    out = np.asarray(enhance(rgba, EnhanceConfig(**SMALL)).image)
    assert (out[:4, :4] == 255).all() and out[40, 30, 1] > 80 and out[40, 30, 0] < 80


def test_renditions_decode_as_their_formats_and_sizes():
    photo, _ = product_photo()
    formats = ("webp", "jpeg", "avif") if features.check("avif") else ("webp", "jpeg")
    out = renditions(photo, [(60, 80), (30, 40)], formats)
    assert len(out) == 2 * len(formats)
    names = {"webp": "WEBP", "jpeg": "JPEG", "avif": "AVIF"}
    for key, data in out.items():
        size, fmt = key.split(".")
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == names[fmt]
        assert "x".join(map(str, decoded.size)) == size


def test_deterministic():
    photo, _ = product_photo(shadow=True, seed=4)
    a, b = enhance(photo, EnhanceConfig(**SMALL)), enhance(photo, EnhanceConfig(**SMALL))
    assert a.steps_applied == b.steps_applied
    assert a.image.tobytes() == b.image.tobytes() and a.renditions == b.renditions


def test_upscaler_is_used_only_below_target_size():
    calls = []

    def upscaler(image):
        calls.append(image.size)
        return image.resize((image.width * 2, image.height * 2), Image.Resampling.NEAREST)

    photo, _ = product_photo(size=(45, 60))
    result = enhance(photo, EnhanceConfig(**{**SMALL, "target_size": (150, 200)}), upscaler=upscaler)
    assert calls and "upscale" in result.steps_applied and result.details["upscale"] == "model"
    assert result.image.size == (150, 200)
    calls.clear()
    enhance(photo, EnhanceConfig(**{**SMALL, "target_size": (30, 40)}), upscaler=upscaler)
    assert calls == []


def test_frame_is_trimmed():
    photo, _ = product_photo(bg=(255, 255, 255))
    framed = Image.new("RGB", (110, 140), (0, 0, 0))
    framed.paste(photo, (10, 10))
    result = enhance(framed, EnhanceConfig(**{**SMALL, "centre": False}))
    assert "trim" in result.steps_applied and result.details["trim"]["box"] == [10, 10, 100, 130]
    out = np.asarray(result.image)
    assert out[:2].min() > 200 and out[:, :2].min() > 200


def test_colour_cast_is_reduced_within_bounds():
    photo, _ = product_photo(bg=(232, 236, 250))  # bluish backdrop
    cfg = EnhanceConfig(**{**SMALL, "white_backdrop": False, "contrast": False, "centre": False})
    result = enhance(photo, cfg)
    gains = result.details["white_balance"]["gains"]
    assert gains[2] < 1.0 < gains[0] and all(abs(g - 1) <= cfg.wb_max_gain + 1e-6 for g in gains)
    corner = np.asarray(result.image, dtype=np.float32)[:3, :3].mean(axis=(0, 1))
    assert np.ptp(corner) < 18 - 8  # the cast (18 levels blue over red) shrank


def test_steps_can_be_switched_off():
    photo, _ = product_photo()
    off = EnhanceConfig(exif=False, trim=False, exposure=False, white_balance=False, white_backdrop=False,
                        contrast=False, centre=False, upscale=False, target_size=(90, 120), rendition_sizes=())
    result = enhance(photo, off)
    assert result.steps_applied == [] and result.renditions == {}
    assert result.image.tobytes() == photo.tobytes()


def test_configs_from_dicts_still_accept_the_old_background_key():
    assert EnhanceConfig.from_overrides({"background": False, "contrast": False}) == \
        EnhanceConfig(white_backdrop=False, contrast=False)
    assert EnhanceConfig.from_overrides({"background": True, "white_backdrop": False}).white_backdrop is False
    with pytest.raises(ValueError, match="backgrnd.*background.*white_backdrop"):
        EnhanceConfig.from_overrides({"backgrnd": False})


def test_large_photo_path_keeps_product_and_whitens_backdrop():
    photo, (x0, y0, x1, y1) = product_photo(size=(180, 240), bg=(215, 215, 215))
    cfg = EnhanceConfig(**{**ONLY_BACKGROUND.__dict__, "target_size": (180, 240), "work_side": 60})  # masks at 1/4
    after = np.asarray(enhance(photo, cfg).image, dtype=np.int16)
    before = np.asarray(photo, dtype=np.int16)
    assert (after[:20, :20] == 255).all() and (after[-20:, -20:] == 255).all()
    inner = (slice(y0 + 6, y1 - 6), slice(x0 + 6, x1 - 6))
    assert (np.abs(after[inner] - before[inner]).max(axis=-1) > 6).mean() < 0.02


def test_flood_fill_follows_a_winding_corridor():
    allowed = np.zeros((9, 9), dtype=bool)
    allowed[1, 1:8] = allowed[1:8, 7] = allowed[7, 1:8] = allowed[3:8, 1] = allowed[3, 1:6] = True  # a spiral
    allowed[5, 3:6] = allowed[4:6, 5] = True
    seed = np.zeros_like(allowed)
    seed[1, 1] = True
    region = connected_from(seed, allowed)
    assert region[5, 3] and region.sum() == allowed.sum()  # (5, 3) is reached only at the spiral's end
    allowed[0, 0] = True  # a pixel touching the corridor only diagonally stays out
    allowed[0, 1] = False
    assert not connected_from(seed, allowed)[0, 0]


def test_details_are_json():
    photo, _ = product_photo(shadow=True)
    json.dumps(enhance(photo, EnhanceConfig(**SMALL)).details)


# ---------------------------------------------------------------- exposure
def darkened(photo: Image.Image, gain: float) -> Image.Image:
    return Image.fromarray((np.asarray(photo, dtype=np.float32) * gain + 0.5).astype(np.uint8))


@pytest.mark.parametrize("gain", [0.5, 0.7])
def test_an_under_exposed_photo_is_brought_back_to_its_exposure(gain):
    photo, (x0, y0, x1, y1) = product_photo(bg=(250, 250, 250))
    dark = darkened(photo, gain)
    result = enhance(dark, EXPOSURE_ONLY)
    assert "exposure" in result.steps_applied
    before, after = np.asarray(photo, dtype=np.float32), np.asarray(result.image, dtype=np.float32)
    assert 245 <= after[:4, :4].mean() <= 254  # the backdrop is white again, and not clipped
    product = (slice(y0 + 1, y1 - 1), slice(x0 + 1, x1 - 1))
    assert np.abs(after[product] - before[product]).mean() < 8  # the product's colours come back too
    assert np.abs(np.asarray(dark, dtype=np.float32)[product] - before[product]).mean() > 20
    quality = QualityConfig(target_size=(90, 120))
    assert "dark" in assess(dark, quality).reasons and "dark" not in assess(result.image, quality).reasons


def test_a_well_exposed_photo_is_left_exactly_as_it_is():
    for bg in ((255, 255, 255), (225, 225, 225)):  # white, and a deliberate grey sweep
        photo, _ = product_photo(bg=bg, colour=(40, 40, 60))  # a dark product: nothing near white but the sweep
        result = enhance(photo, EXPOSURE_ONLY)
        assert "exposure" not in result.steps_applied
        assert result.image.tobytes() == photo.tobytes()


def test_tone_curve_brightens_without_clipping_highlights():
    lut = tone_curve(2.0, 235.0).astype(int)  # a photo darkened to half: its levels are 0-127
    assert (np.diff(lut) >= 0).all()  # monotone: no tone reversal
    assert lut[50] == 100 and lut[100] == 200  # linear gain below the knee
    assert lut[127] < 255 and len(np.unique(lut[:128])) >= 120  # the shoulder: highlights stay distinct


# ---------------------------------------------------------------- light products on grey
def light_product_on_grey(size=(120, 160), bg=205.0, seed=0):
    """A white garment on a grey sweep with a vignette; one side of it is in shade, down to the sweep's own
    tone, so only its soft outline (a thin seam shadow, blurred over ~1 px) tells it from the backdrop.
    Returns (image, mask)."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sweep = bg * (1 - 0.06 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - 0.4 * h) / (0.6 * h)) ** 2))
    box = (w // 4, h // 6, 3 * w // 4, 5 * h // 6)
    shape, seam = Image.new("L", size, 0), Image.new("L", size, 0)
    ImageDraw.Draw(shape).rounded_rectangle(box, radius=8, fill=255)
    ImageDraw.Draw(seam).rounded_rectangle(box, radius=8, outline=255, width=1)
    blur = lambda m: np.asarray(m.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32) / 255.0  # noqa: E731
    shade = 248.0 - 45.0 * np.clip((xx - w / 2) / (w / 4), 0, 1)  # 248 on the lit side, 203 on the shaded one
    arr = blur(shape) * shade + (1 - blur(shape)) * sweep
    arr *= 1 - 0.15 * blur(seam)
    arr = arr[..., None] + rng.normal(0, 1.2, (h, w, 3))
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8)), np.asarray(shape) > 127


def test_a_light_product_on_grey_keeps_its_pixels_while_the_backdrop_turns_white():
    photo, mask = light_product_on_grey()
    cfg = EnhanceConfig(**{**ONLY_BACKGROUND.__dict__, "target_size": photo.size})
    result = enhance(photo, cfg)
    assert "background" in result.steps_applied
    before, after = np.asarray(photo, dtype=np.int16), np.asarray(result.image, dtype=np.int16)
    inner = ~np.asarray(Image.fromarray(~mask).filter(ImageFilter.MaxFilter(5)))  # 2 px in from the edge
    kept = (np.abs(after[inner] - before[inner]).max(axis=-1) <= 8).mean()
    assert kept >= 0.97
    clear = ~np.asarray(Image.fromarray(mask).filter(ImageFilter.MaxFilter(9)))  # 4 px clear of the product
    assert (after[clear] == 255).all(axis=-1).mean() >= 0.98


def test_backdrop_enclosed_by_a_product_is_whitened_but_a_product_patch_of_backdrop_tone_is_not():
    w, h, bg = 120, 160, 210.0
    rng = np.random.default_rng(1)
    arr = np.full((h, w, 3), bg, dtype=np.float32)
    ring = Image.new("L", (w, h), 0)
    ImageDraw.Draw(ring).ellipse((15, 40, 105, 140), outline=255, width=14)  # a bangle: backdrop inside it
    arr[np.asarray(ring) > 0] = (90, 40, 110)
    # a grey skirt with a dark hem all round, lit to exactly the backdrop's tone in the middle, shaded at the sides
    arr[4:36, 30:90] = 120.0
    x = np.arange(56, dtype=np.float32)
    arr[6:34, 32:88] = (bg * (1.0 - 0.2 * ((x - 27.5) / 27.5) ** 2))[None, :, None]
    arr += rng.normal(0, 1.0, arr.shape)
    alpha = find_backdrop(arr.astype(np.float32), BackdropConfig()).alpha
    assert alpha[80:100, 50:70].mean() > 0.95  # inside the bangle: backdrop
    assert alpha[10:30, 50:70].mean() < 0.2  # the middle of the skirt: product


def test_a_narrow_gap_between_a_models_arm_and_body_is_backdrop():
    """The white between an arm held close and the body is backdrop, even when it is only 11 px wide."""
    w, h, bg = 225, 300, 245.0
    arr = np.full((h, w, 3), bg, dtype=np.float32)
    arr[40:260, 70:150] = (60, 90, 160)  # the body in a blue shirt
    arr[60:200, 161:179] = (200, 150, 120)  # an arm, 11 px away from the body...
    arr[190:205, 150:179] = (200, 150, 120)  # ...its hand on the hip closes the gap below
    arr[40:60, 150:179] = (60, 90, 160)  # and the sleeve closes it above
    arr += np.random.default_rng(2).normal(0, 1.0, arr.shape)
    alpha = find_backdrop(arr.astype(np.float32), BackdropConfig()).alpha
    assert alpha[80:180, 152:159].mean() > 0.9  # the enclosed gap
    assert alpha[80:180, 90:130].mean() < 0.1 and alpha[80:180, 164:176].mean() < 0.1  # body and arm stay
    wide_seeds = BackdropConfig(hole_seed=1 / 40)  # as before: an 11 px gap does not survive the seeds' erosion
    assert find_backdrop(arr.astype(np.float32), wide_seeds).alpha[80:180, 152:159].mean() < 0.5


def test_enhancement_of_dark_and_grey_photos_is_deterministic():
    for photo in (darkened(product_photo(bg=(250, 250, 250), seed=2)[0], 0.55), light_product_on_grey(seed=3)[0]):
        a, b = enhance(photo, EnhanceConfig(**SMALL)), enhance(photo, EnhanceConfig(**SMALL))
        assert a.steps_applied == b.steps_applied and a.details == b.details
        assert a.image.tobytes() == b.image.tobytes() and a.renditions == b.renditions


def test_avif_is_opt_in():
    assert "avif" not in EnhanceConfig().rendition_formats
    photo, _ = product_photo()
    out = renditions(photo, [(30, 40)], ("webp", "jpeg", "avif"))
    assert set(out) >= {"30x40.webp", "30x40.jpeg"}
    assert ("30x40.avif" in out) == features.check("avif")
