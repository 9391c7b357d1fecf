import numpy as np
import pytest

from ml.rare_clicks import RareClickConfig, RareClickThompson

KEYS, ATTRS = ["a", "b"], [["colour=red"], ["colour=navy"]]


def small(**kw) -> RareClickThompson:
    return RareClickThompson(RareClickConfig(n_buckets=1 << 12, **kw))


def simulate(model, rng, n, p_of, context_of=lambda rng: {}, position_of=lambda rng: None, batch=500):
    rows, rewards, shown = [], [], []
    for _ in range(n):
        ctx, pos = context_of(rng), position_of(rng)
        enc = model.encode(KEYS, ATTRS, ctx, position=pos)
        i = model.choose(enc, rng).chosen
        rows.append(model.rows_for(enc, i))
        rewards.append(float(rng.random() < p_of(ctx, pos, i)))
        shown.append(enc.count_slots[i])
        if len(rows) == batch:
            model.learn(model.stack_rows(rows), np.array(rewards), np.array(shown))
            rows, rewards, shown = [], [], []


def test_prior_is_centred_on_the_base_rate():
    model = small(base_rate=0.004)
    enc = model.encode(KEYS, ATTRS, {"device": "mobile"})
    assert 1 / (1 + np.exp(-model.expected_logits(enc))) == pytest.approx([0.004, 0.004], rel=1e-6)


def test_learns_which_image_each_context_prefers():
    rng = np.random.default_rng(0)
    model = small(base_rate=0.02, min_impressions=10)
    def p_of(ctx, pos, i):
        return 0.10 if (i == 0) == (ctx["device"] == "mobile") else 0.01
    simulate(model, rng, 4000, p_of, lambda rng: {"device": "mobile" if rng.random() < 0.5 else "desktop"})
    for device, best in (("mobile", 0), ("desktop", 1)):
        enc = model.encode(KEYS, ATTRS, {"device": device})
        assert np.argmax(model.expected_logits(enc)) == best
        assert model.choose(enc, rng).propensities[0, best] > 0.8


def test_position_explains_clicks_but_does_not_decide():
    rng = np.random.default_rng(1)
    model = small(base_rate=0.02, min_impressions=10)
    simulate(model, rng, 4000, lambda ctx, pos, i: 0.12 if pos == 0 else 0.01, position_of=lambda rng: int(rng.integers(2)))
    assert model.mean[model.position_slot(0)] - model.mean[model.position_slot(1)] > 1.0
    enc0, enc1 = model.encode(KEYS, ATTRS, {}, position=0), model.encode(KEYS, ATTRS, {}, position=1)
    np.testing.assert_array_equal(enc0.deciding, enc1.deciding)  # the same images score the same in any slot
    assert abs(np.diff(model.expected_logits(enc0))[0]) < 0.5  # and neither image took the position's credit


def test_graded_reward_counts_a_purchase_more_than_a_click():
    click, purchase = small(), small()
    for model, reward in ((click, 1.0), (purchase, 5.0)):
        enc = model.encode(KEYS, ATTRS, {})
        model.learn(model.stack_rows([model.rows_for(enc, 0)]), np.array([reward]))
    slot = click.slot("img=a")
    assert purchase.mean[slot] > click.mean[slot] > 0


def test_decay_moves_the_posterior_back_to_the_prior():
    rng = np.random.default_rng(2)
    model = small(base_rate=0.02, half_life=100.0, min_impressions=10)
    simulate(model, rng, 1000, lambda ctx, pos, i: 0.2 if i == 0 else 0.01)
    slot = model.slot("img=a")
    learnt_mean, learnt_var = model.mean[slot], model.var[slot]
    model.decay(100.0)
    assert model.mean[slot] == pytest.approx(learnt_mean / 2)
    assert learnt_var < model.var[slot] < model.prior_var[slot]
    model.decay(1e6)
    assert model.mean[slot] == pytest.approx(0, abs=1e-9) and model.var[slot] == pytest.approx(model.prior_var[slot])


def test_new_image_gets_its_guaranteed_share_until_it_has_enough_impressions():
    rng = np.random.default_rng(3)
    model = small(min_impressions=50, cold_share=0.2, optimism=0.0)
    keys, attrs = ["old1", "old2", "new"], [[], [], []]
    enc = model.encode(keys, attrs, {})
    model.learn(model.stack_rows([model.rows_for(enc, i) for i in (0, 1) for _ in range(100)]),
                (np.arange(200) % 5 == 0).astype(float), np.repeat(enc.count_slots[:2], 100))  # old ones: 20 % CTR
    p = model.choose(enc, rng).propensities[0]
    assert p[2] >= 0.2 + 0.05 / 3 - 1e-9 and p.sum() == pytest.approx(1)
    model.learn(model.stack_rows([model.rows_for(enc, 2)] * 60), np.zeros(60), np.repeat(enc.count_slots[2], 60))
    assert not model.new_images(enc).any()
    assert model.choose(enc, rng).propensities[0, 2] < 0.2  # 0 clicks in 60: no longer protected, rarely shown


def test_slots_hold_distinct_images_drawn_from_the_logged_propensities():
    rng = np.random.default_rng(4)
    model = small(n_draws=32)
    enc = model.encode([f"i{n}" for n in range(6)], [[f"colour=c{n % 3}"] for n in range(6)], {"page": "home"})
    counts = np.zeros((3, 6))
    for _ in range(3000):
        choice = model.choose(enc, rng, n_slots=3)
        assert len(set(choice.slots)) == 3
        np.testing.assert_allclose(choice.propensities.sum(axis=1), 1)
        counts[np.arange(3), choice.slots] += 1
    # with an untrained model every image is as likely in every slot, and that is what was shown
    np.testing.assert_allclose(counts / 3000, 1 / 6, atol=0.04)


def test_bytes_round_trip_chooses_identically_and_size_does_not_grow_with_the_catalogue():
    rng = np.random.default_rng(5)
    model = small(base_rate=0.02, min_impressions=10)
    simulate(model, rng, 600, lambda ctx, pos, i: 0.1 if i == 0 else 0.02, lambda rng: {"hour": int(rng.integers(3))})
    copy = RareClickThompson.from_bytes(model.to_bytes())
    enc = model.encode(KEYS, ATTRS, {"hour": 1})
    a, b = model.choose(enc, np.random.default_rng(9)), copy.choose(enc, np.random.default_rng(9))
    assert a.slots == b.slots and np.array_equal(a.propensities, b.propensities)
    before = model.mean.nbytes + model.var.nbytes + model.impressions.nbytes
    model.encode([f"img{n}" for n in range(5000)], [["colour=red"]] * 5000, {"hour": 1})
    assert model.mean.nbytes + model.var.nbytes + model.impressions.nbytes == before


def test_bytes_of_another_format_are_refused():
    data = small().to_bytes().replace(b"format", b"formax")
    with pytest.raises((ValueError, KeyError)):
        RareClickThompson.from_bytes(data)
