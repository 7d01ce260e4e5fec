import json
import os
import pickle

import pytest
import torch

from course_lib.checkpoint import (
    TRAIN_STATE_FORMAT,
    load_checkpoint,
    load_pretrained,
    load_train_state,
    save_checkpoint,
    save_train_state,
)
from course_lib.model import GPT, GPTConfig


def test_round_trip(tmp_path, tiny_model, char_tokenizer):
    save_checkpoint(tmp_path / "ck", tiny_model, char_tokenizer, meta={"note": "test"})
    model, tok, meta = load_checkpoint(tmp_path / "ck")
    assert meta == {"note": "test"}
    assert tok.encode("To be") == char_tokenizer.encode("To be")
    for (k, a), b in zip(tiny_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k
    # tied weights stay tied after loading
    assert model.lm_head.weight.data_ptr() == model.tok_emb.weight.data_ptr()
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "ck").iterdir())


def test_half_precision_files_are_smaller_and_close(tmp_path, tiny_model):
    save_checkpoint(tmp_path / "full", tiny_model)
    save_checkpoint(tmp_path / "half", tiny_model, dtype=torch.float16)
    full = (tmp_path / "full" / "model.safetensors").stat().st_size
    half = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half < 0.6 * full
    model, _, _ = load_checkpoint(tmp_path / "half")
    idx = torch.randint(0, 10, (1, 8))
    assert torch.allclose(model(idx)[0], tiny_model(idx)[0], atol=1e-2)


def test_a_checkpoint_for_another_model_is_refused(tmp_path, tiny_model):
    save_checkpoint(tmp_path / "ck", tiny_model)
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["model"]["n_embd"] = 64
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="config.json does not match .*manifest.json"):
        load_checkpoint(tmp_path / "ck")  # the manifest saw the edit
    (tmp_path / "ck" / "manifest.json").unlink()  # as the message suggests: load the files as they are
    with pytest.raises(ValueError, match="different model"):
        load_checkpoint(tmp_path / "ck")


def test_missing_and_damaged_files(tmp_path, tiny_model):
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        load_checkpoint(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_checkpoint(tmp_path / "empty")
    save_checkpoint(tmp_path / "ck", tiny_model)
    path = tmp_path / "ck" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])  # a run killed while copying
    with pytest.raises(ValueError, match="model.safetensors does not match .*or is damaged"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "manifest.json").unlink()
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_checkpoint(tmp_path / "ck")
    with pytest.raises(FileNotFoundError, match="no shipped model called"):
        load_pretrained("no-such-model")


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > " + str(self.target),))


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    evil = RunsCode()
    evil.target = tmp_path / "pwned.txt"
    path = tmp_path / "train_state.pt"
    with open(path, "wb") as f:
        pickle.dump({"step": 1, "payload": evil}, f)
    with pytest.raises(ValueError, match="could not be loaded safely"):
        load_train_state(path)
    assert not evil.target.exists()
    # an honest state loads
    torch.save({"format": TRAIN_STATE_FORMAT, "step": 3, "rng": torch.get_rng_state()}, tmp_path / "ok.pt")
    assert load_train_state(tmp_path / "ok.pt")["step"] == 3


def test_train_state_round_trip_and_foreign_files(tmp_path, tiny_model):
    optimizer = torch.optim.AdamW(tiny_model.parameters(), lr=1e-3)
    tiny_model(torch.zeros(1, 4, dtype=torch.long))[0].sum().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(5)
    path = save_train_state(tmp_path / "train_state.pt", tiny_model, optimizer, generator, step=7, tokens=700,
                            elapsed=1.5, train_loss=2.0, val_loss=2.5, best_val_loss=2.4, config={"lr": 1e-3},
                            model_config=tiny_model.config.to_dict(), world_size=1, micro_batches=14)
    state = load_train_state(path)
    assert state["format"] == TRAIN_STATE_FORMAT and state["step"] == 7 and state["best_val_loss"] == 2.4
    assert state["data_position"]["micro_batches"] == 14 and state["scaler"] is None
    assert torch.equal(state["data_position"]["generator"], generator.get_state())
    assert all(torch.equal(v, tiny_model.state_dict()[k]) for k, v in state["model"].items())
    assert state["optimizer"]["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    torch.save({"step": 3}, tmp_path / "other.pt")  # loads safely, but is not a training state
    with pytest.raises(ValueError, match="this course reads 'course-train-state-v1'"):
        load_train_state(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no training state"):
        load_train_state(tmp_path / "missing.pt")


def test_weights_file_cannot_carry_code(tmp_path, tiny_model):
    """safetensors holds only tensors: a pickle renamed to model.safetensors is rejected."""
    save_checkpoint(tmp_path / "ck", tiny_model)
    evil = RunsCode()
    evil.target = tmp_path / "pwned.txt"
    (tmp_path / "ck" / "model.safetensors").write_bytes(pickle.dumps(evil))
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "ck")
    assert not evil.target.exists()


def test_load_or_stand_in_says_what_stands_in(tmp_path, monkeypatch):
    from course_lib import checkpoint

    model, tok, note = checkpoint.load_or_stand_in("shakespeare-bpe")
    assert note == "" and model.config.vocab_size == tok.vocab_size
    model, tok, note = checkpoint.load_or_stand_in("no-such-model", stand_in="shakespeare-bpe")
    assert "'shakespeare-bpe' stands in" in note
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", tmp_path)  # a bare checkout: nothing shipped
    model, tok, note = checkpoint.load_or_stand_in("shakespeare-bpe", stand_in="chat-sft")
    assert "UNTRAINED" in note and model.config.vocab_size == tok.vocab_size == 2048


# --- damaged or mismatched folders are clear errors (issue 13, point 7) -------------------------

@pytest.mark.parametrize("content, message", [
    (json.dumps({"format": "course-gpt-checkpoint-v1"}).encode(), 'no "model" settings'),
    (b"[1, 2]", "holds a JSON list, not an object"),
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (json.dumps({"format": "course-gpt-checkpoint-v1", "model": [1]}).encode(), 'no "model" settings'),
    (json.dumps({"format": "course-gpt-checkpoint-v1", "model": dict(GPTConfig().to_dict(), dropout="a")}).encode(),
     "cannot be built: dropout must be a number"),
    (json.dumps({"format": "course-gpt-checkpoint-v1", "model": dict(GPTConfig().to_dict(), vocab_size=10**12)}).encode(),
     r"about 256,000,\S+ weights .* at most MAX_PARAMS"),
])
def test_a_damaged_config_json_is_a_clear_error(tmp_path, tiny_model, content, message):
    save_checkpoint(tmp_path / "ck", tiny_model)
    (tmp_path / "ck" / "manifest.json").unlink()  # a hand-made folder: no manifest to catch the edit
    (tmp_path / "ck" / "config.json").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(tmp_path / "ck")


def test_absurd_shapes_are_refused_before_allocating():
    with pytest.raises(ValueError, match="MAX_PARAMS"):
        GPTConfig(vocab_size=10**12)  # was: an attempt to allocate 1 PB
    with pytest.raises(ValueError, match="positive integer, not True"):
        GPTConfig(n_layer=True)
    assert GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768).approx_params() \
        == 124_439_808  # GPT-2 small is far below the limit


def test_save_refuses_nan_weights_naming_the_tensor(tmp_path, tiny_model):
    with torch.no_grad():
        tiny_model.blocks[0].attn.qkv.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"blocks\.0\.attn\.qkv\.weight.*NaN or infinite"):
        save_checkpoint(tmp_path / "ck", tiny_model)
    assert not (tmp_path / "ck" / "model.safetensors").exists()


def test_a_truncated_train_state_is_called_damaged(tmp_path, tiny_model):
    optimizer = torch.optim.AdamW(tiny_model.parameters())
    path = save_train_state(tmp_path / "train_state.pt", tiny_model, optimizer, torch.Generator(), step=1, tokens=1,
                            elapsed=0.0, train_loss=None, val_loss=None, best_val_loss=None, config={},
                            model_config={}, world_size=1, micro_batches=1)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="is damaged \\(truncated or corrupt.*delete the file") as err:
        load_train_state(path)
    assert "pickled code" not in str(err.value)


def test_a_tokenizer_of_another_vocabulary_is_refused(tmp_path, tiny_model, char_tokenizer):
    from course_lib.tokenizer import CharTokenizer

    save_checkpoint(tmp_path / "ck", tiny_model, char_tokenizer)
    chars = char_tokenizer.to_dict()["chars"]
    other = CharTokenizer.train("".join(chars[1:]) + "\u00e9")  # one character swapped for another
    assert other.vocab_size == char_tokenizer.vocab_size and other.fingerprint() != char_tokenizer.fingerprint()
    other.save(tmp_path / "ck" / "tokenizer.json")
    (tmp_path / "ck" / "manifest.json").unlink()  # so that only the fingerprint can tell
    with pytest.raises(ValueError, match="not the tokenizer the model was saved with"):
        load_checkpoint(tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    del config["tokenizer_fingerprint"]  # a checkpoint from before fingerprints: still loads
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    assert load_checkpoint(tmp_path / "ck")[1].fingerprint() == other.fingerprint()
