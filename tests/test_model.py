from pathlib import Path

import pytest
import torch

from course_lib.model import GPT, GPTConfig, causal_mask, parameter_breakdown


def make(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=40, block_size=16, n_layer=2, n_head=4, n_embd=32)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg)).eval()


def test_forward_shapes_and_loss():
    model = make()
    idx = torch.randint(0, 40, (3, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 10, 40)
    assert loss.ndim == 0
    # an untrained model is close to uniform: loss near ln(V)
    assert abs(loss.item() - torch.log(torch.tensor(40.0)).item()) < 0.5


def test_ignore_index_leaves_positions_out_of_the_loss():
    model = make()
    idx = torch.randint(0, 40, (1, 8))
    targets = idx.clone()
    targets[:, :4] = -100
    logits, loss = model(idx, targets)
    manual = torch.nn.functional.cross_entropy(logits[0, 4:], idx[0, 4:])
    assert torch.allclose(loss, manual, atol=1e-6)


def test_trace_gives_the_same_logits_as_forward():
    model = make()
    idx = torch.randint(0, 40, (2, 12))
    logits, _ = model(idx)
    trace = model.trace(idx)
    assert torch.allclose(trace.logits, logits, atol=1e-5)
    L, B, H, T, C = 2, 2, 4, 12, 32
    assert trace.attn_pattern.shape == (L, B, H, T, T)
    assert trace.mlp_hidden.shape == (L, B, T, 4 * C)
    assert trace.resid_post.shape == (L, B, T, C)
    # rows of attention are probabilities, and nobody looks at the future
    assert torch.allclose(trace.attn_pattern.sum(-1), torch.ones(L, B, H, T), atol=1e-5)
    future = ~causal_mask(T, T)
    assert trace.attn_pattern[..., future].abs().max() == 0
    # the residual stream is the sum of everything written into it
    rebuilt = trace.embed + trace.attn_out.sum(0) + trace.mlp_out.sum(0)
    assert torch.allclose(rebuilt, trace.resid_post[-1], atol=1e-5)


def test_ablating_a_head_changes_only_what_it_should():
    model = make()
    idx = torch.randint(0, 40, (1, 10))
    base = model.trace(idx)
    cut = model.trace(idx, ablate_heads=[(1, 2)])
    # layer 0 is untouched, layer 1's output differs
    assert torch.allclose(base.attn_out[0], cut.attn_out[0])
    assert not torch.allclose(base.attn_out[1], cut.attn_out[1])
    # zeroing every head of a layer leaves only the projection bias
    all_off = model.trace(idx, ablate_heads=[(0, h) for h in range(4)])
    bias = model.blocks[0].attn.proj.bias
    assert torch.allclose(all_off.attn_out[0], bias.expand_as(all_off.attn_out[0]), atol=1e-6)


def test_ablating_neurons_zeroes_them():
    model = make()
    idx = torch.randint(0, 40, (1, 6))
    cut = model.trace(idx, ablate_neurons=[(0, 5), (1, 7)])
    assert cut.mlp_hidden[0, ..., 5].abs().max() == 0
    assert cut.mlp_hidden[1, ..., 7].abs().max() == 0
    with pytest.raises(ValueError, match="not a neuron"):
        model.trace(idx, ablate_neurons=[(0, 10_000)])
    with pytest.raises(ValueError, match="not a head"):
        model.trace(idx, ablate_heads=[(5, 0)])


def test_kv_cache_gives_the_same_logits():
    model = make()
    idx = torch.randint(0, 40, (1, 12))
    full, _ = model(idx)
    caches = model.new_kv_caches()
    parts = [model(idx[:, :5], kv_caches=caches)[0]]
    for t in range(5, 12):
        parts.append(model(idx[:, t : t + 1], kv_caches=caches)[0])
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_parameter_breakdown_adds_up():
    model = make()
    parts = parameter_breakdown(model)
    assert sum(parts.values()) == model.num_params()
    C, V, T, L = 32, 40, 16, 2
    assert parts["token embedding"] == V * C
    assert parts["position embedding"] == T * C
    assert parts["attention"] == L * (3 * C * C + 3 * C + C * C + C)
    assert parts["feed-forward"] == L * (C * 4 * C + 4 * C + 4 * C * C + C)
    assert parts["layer norms"] == (2 * L + 1) * 2 * C
    # the output layer shares the token embedding
    assert model.lm_head.weight.data_ptr() == model.tok_emb.weight.data_ptr()


def test_bad_configs_and_inputs_are_explained():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="positive integer"):
        GPTConfig(n_layer=0)
    model = make()
    with pytest.raises(ValueError, match="do not fit the context"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.from_dict({"n_layers": 3})


def test_training_a_few_steps_lowers_the_loss():
    model = make().train()
    idx = torch.arange(16).remainder(5).unsqueeze(0).repeat(4, 1)  # a repeating pattern
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        _, loss = model(idx[:, :-1], idx[:, 1:])
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 3


def test_shipped_checkpoints_give_the_pinned_logits():
    """The refactors keep behaviour: the shipped models' logits on a fixed prompt are the ones
    recorded (bit for bit on the CPU kind that recorded them, else to float rounding)."""
    from safetensors import safe_open

    from course_lib.checkpoint import load_pretrained

    path = Path(__file__).parent / "data" / "pinned_logits.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        pinned = {name: f.get_tensor(name) for name in f.keys()}
    same_cpu = meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    for name, expected in pinned.items():
        model, tok, _ = load_pretrained(name)
        idx = torch.tensor([tok.encode(meta["prompt"])])
        with torch.no_grad():
            logits, _ = model.eval()(idx)
        if same_cpu:
            assert torch.equal(logits[0], expected), name
        else:
            assert torch.allclose(logits[0], expected, atol=1e-4, rtol=1e-5), name


def test_hidden_is_what_the_output_layer_reads():
    model = make()
    idx = torch.randint(0, 40, (2, 9))
    logits, _ = model(idx)
    assert torch.equal(model.lm_head(model.hidden(idx)), logits)


def test_trace_can_stop_early_and_switch_off_whole_sublayers():
    model = make(n_layer=3)
    idx = torch.randint(0, 40, (1, 10))
    full = model.trace(idx)
    early = model.trace(idx, upto_layer=1)
    assert early.logits is None and early.attn_pattern.shape[0] == 2
    assert torch.allclose(early.resid_post, full.resid_post[:2])
    no_attn = model.trace(idx, ablate_attn=[1])
    assert no_attn.attn_out[1].abs().max() == 0
    assert torch.equal(no_attn.resid_post[0], full.resid_post[0])  # the layer before is untouched
    no_mlp = model.trace(idx, ablate_mlp=[2])
    assert no_mlp.mlp_out[2].abs().max() == 0 and torch.equal(no_mlp.resid_mid[2], full.resid_mid[2])
    nothing = model.trace(idx, ablate_heads=[], ablate_neurons=[], ablate_attn=[], ablate_mlp=[])
    assert torch.equal(nothing.logits, full.logits)
    for bad in (dict(upto_layer=3), dict(upto_layer=-1), dict(ablate_attn=[5]), dict(ablate_mlp=["0"])):
        with pytest.raises(ValueError):
            model.trace(idx, **bad)


def test_set_dropout_changes_every_rate_and_refuses_nonsense():
    model = make(dropout=0.1)
    assert model.set_dropout(0.0) is model and model.config.dropout == 0.0
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    assert all(b.attn.dropout == 0.0 for b in model.blocks)
    for bad in (-0.1, 1.0, float("nan"), "0.1"):
        with pytest.raises(ValueError):
            model.set_dropout(bad)


def test_feed_forward_returns_a_tensor_and_shows_its_neurons():
    model = make()
    x = torch.randn(1, 5, 32)
    mlp = model.blocks[0].mlp
    out, hidden = mlp.forward_explicit(x)
    assert torch.equal(mlp(x), out) and torch.equal(mlp.neurons(x), hidden)
    assert hidden.shape == (1, 5, 128)
