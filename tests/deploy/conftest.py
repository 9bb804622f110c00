import pytest

# The image test builds a container image with buildah: minutes, not seconds. It runs only
# when asked for by marker (`make image` runs `pytest -m image`), never inside `make test`.
IMAGE_MARKER = "image"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the image tests unless the run asks for them: `make test` is not
    the place for them, and reporting them as skipped would look like missing setup."""
    if IMAGE_MARKER in (config.getoption("markexpr") or ""):
        return
    selected = [item for item in items if item.get_closest_marker(IMAGE_MARKER) is None]
    deselected = [item for item in items if item.get_closest_marker(IMAGE_MARKER) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
