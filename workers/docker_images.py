"""Images on the worker's engine: the registry policy, where a local image came from, pulls."""

from __future__ import annotations

import logging

import docker
import docker.errors
from docker.models.images import Image

from workers.docker_helpers import explain_pull_failure
from workers.docker_tasks import EngineError, ImageRefused, ImageUnavailable, RunnerSettings
from workers.registry_policy import RegistryRefused

log = logging.getLogger(__name__)


class Images:
    """Find, check and pull images as the operator's settings allow; nothing else pulls."""

    def __init__(self, client: docker.DockerClient, settings: RunnerSettings) -> None:
        self.client = client
        self.settings = settings

    def present(self, ref: str, *, pull_first: bool = False) -> Image:
        """Return the image ref names, checked against the policy, pulling it when allowed.

        An image on the engine runs unpulled when it was pulled from ref's own repository,
        or when the operator allows engine-local images; one built, loaded or tagged here is
        otherwise replaced by its registry's own, which is pulled.

        Raises:
            ImageRefused: its registry is not allowed, or the local image did not come from it.
            ImageUnavailable: missing and not pullable, or the pull policy forbids pulling.
            EngineError: the engine failed in a way that is not the image's doing.
        """
        self.check(ref)
        image = None if pull_first else self.local(ref)
        if image is None:
            return self.pull(ref)
        registries = self.settings.registries
        if registries.allows_local or registries.came_from_registry(
            ref, image.attrs.get("RepoDigests") or []
        ):
            return image
        made_here = (
            f"The image {ref} on this worker was made or renamed here rather than downloaded "
            "from its registry, and this portal runs images from their registry only."
        )
        if self.settings.pull_policy == "never":
            raise ImageRefused(
                f"{made_here} This worker never pulls images, so an operator must pull it "
                "from its registry (or allow local images)."
            )
        try:
            return self.pull(ref)
        except ImageUnavailable as exc:
            raise ImageRefused(f"{made_here} {exc}") from None

    def check(self, ref: str) -> None:
        """Refuse a reference whose registry the policy does not allow, before any request."""
        try:
            self.settings.registries.check(ref)
        except RegistryRefused as exc:
            raise ImageRefused(str(exc)) from None

    def local(self, ref: str) -> Image | None:
        """Return the engine's image by this name, or None; the engine contacts no registry."""
        try:
            return self.client.images.get(ref)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            log.warning("the engine refused to look up image %s: %s", ref, exc)
            if exc.status_code == 400:
                raise ImageUnavailable(
                    f"The Docker engine does not accept {ref} as an image name."
                ) from None
            raise EngineError(f"The Docker engine could not look up the image {ref}.") from None

    def pull(self, ref: str) -> Image:
        """Pull an image when the policy allows it; say in plain words why it failed if so."""
        if self.settings.pull_policy == "never":
            raise ImageUnavailable(
                f"The image {ref} is not on this worker, and this worker never pulls images "
                "(pull policy 'never'); an operator must load it first."
            )
        self.check(ref)  # again, right before the engine contacts the registry
        try:
            for message in self.client.api.pull(ref, stream=True, decode=True):
                # Errors after the pull has begun come inside the stream, not as a status.
                if "error" in message:
                    detail = message.get("errorDetail") or {}
                    raise ImageUnavailable(self._failed(ref, detail.get("message")))
        except docker.errors.APIError as exc:
            raise ImageUnavailable(self._failed(ref, exc.explanation or exc)) from None
        image = self.local(ref)
        if image is None:
            raise ImageUnavailable(self._failed(ref, "the pull ended without the image"))
        return image

    @staticmethod
    def _failed(ref: str, reason: object) -> str:
        """Word a failed pull for the member; the registry's own text goes to the log only.

        A registry's answer can be anything its server sends (banners, pages), so it is
        never shown to the member who chose the registry.
        """
        log.warning("pull of %s failed: %s", ref, reason)
        return f"The image {ref} could not be downloaded: {explain_pull_failure(str(reason))}."
