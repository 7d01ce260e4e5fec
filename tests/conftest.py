"""Shared test setup: the lessons run in fast mode, and small models/texts for unit tests."""
import os

import pytest
import torch

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

SMALL_TEXT = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles\n"
    "And by opposing end them. To die-to sleep,\n"
    "No more; and by a sleep to say we end\n"
    "The heart-ache and the thousand natural shocks\n"
    "That flesh is heir to: 'tis a consummation\n"
    "Devoutly to be wish'd.\n"
) * 3


@pytest.fixture
def small_text():
    return SMALL_TEXT


@pytest.fixture
def char_tokenizer():
    from course_lib.tokenizer import CharTokenizer

    return CharTokenizer.train(SMALL_TEXT)


@pytest.fixture
def tiny_model(char_tokenizer):
    from course_lib.model import GPT, GPTConfig

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=char_tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32)
    return GPT(config).eval()


CHAT_TEXT = (
    "What follows is a conversation between a user and a helpful AI assistant. "
    "Hello! Hi! How can I help? What is 2 plus 3? 2 plus 3 is 5. Who wrote Hamlet? "
    "Hamlet was written by William Shakespeare. Thank you! You are welcome. "
) * 5


@pytest.fixture(scope="session")
def chat_tokenizer():
    """A small BPE tokenizer with the chat template's special tokens (for chat and RLHF tests)."""
    from course_lib.tokenizer import BPETokenizer

    return BPETokenizer.train(CHAT_TEXT, 300)


@pytest.fixture
def make_chat_model(chat_tokenizer):
    """make_chat_model(seed=0) -> a fresh tiny GPT (2 blocks of width 32, context 256) for chat_tokenizer."""
    from course_lib.model import GPT, GPTConfig

    def make(seed=0):
        torch.manual_seed(seed)
        config = GPTConfig(vocab_size=chat_tokenizer.vocab_size, block_size=256, n_layer=2, n_head=2, n_embd=32)
        return GPT(config).eval()

    return make


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: one thread is fastest, and it avoids threads waiting on a busy machine.
    A test module opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def learner_mode(monkeypatch):
    """Exercise checkers check the function passed in, not the reference (the notebook
    tests set COURSE_FILL_SOLUTIONS=1 so that the lessons run with their exercises solved)."""
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS", raising=False)
