import pytest


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from workbench.models.load import load_tokenizer

    return load_tokenizer(str(tiny_model))
