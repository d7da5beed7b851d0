"""The control plane of models: ``Create/Describe/Delete/ListModels``.

A model's container is an image with its model data, or a model package of the registry
(``ModelPackageName``), which is resolved when the model is created: the model keeps the container the
package serves (``_ServingContainer``), as SageMaker does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from include.local_sagemaker.api_support import (
    Listing,
    ResourceFamily,
    copied,
    require,
    tags_of,
)
from include.local_sagemaker.errors import validation
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore

__all__ = ["Models"]


class Models(ResourceFamily):
    """``*Model`` operations over the ``models`` store.

    ``package_container`` gives the container a model package serves (the model registry's
    ``inference_container``); without it, models cannot be created from packages.
    """

    listing = Listing("Models", "ModelName", ("ModelName", "ModelArn", "CreationTime"))
    missing = 'Could not find model "{arn}".'
    duplicate = 'Cannot create already existing model "{arn}".'

    def __init__(self, models: ResourceStore, package_container: Callable[[str], dict] | None = None):
        super().__init__(models)
        self.package_container = package_container

    def _op_CreateModel(self, request: dict) -> dict:
        name = request["ModelName"]
        if request.get("PrimaryContainer"):
            containers = {"primaryContainer": request["PrimaryContainer"]}
        else:
            containers = {
                f"containers.{i}.member": c for i, c in enumerate(request.get("Containers") or [], 1)
            }
        if not containers:
            raise validation("A model needs PrimaryContainer or Containers")
        for path, container in containers.items():
            # The model makes Image optional for containers taken from a model package.
            if not container.get("ModelPackageName"):
                require(container, "Image", path=path)
        document = {
            "ModelName": name,
            "ModelArn": arn("Model", name),
            "CreationTime": time.time(),
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
            "_Tags": tags_of(request),
            **copied(
                request,
                (
                    "PrimaryContainer",
                    "Containers",
                    "ExecutionRoleArn",
                    "VpcConfig",
                    "InferenceExecutionConfig",
                ),
            ),
        }
        first = next(iter(containers.values()))
        if first.get("ModelPackageName"):
            document["_ServingContainer"] = self._package_container(first)
        return self.create(document)

    def _package_container(self, container: dict) -> dict:
        """What a container taken from a model package serves: the package's image, model data and
        environment, with the container's own ``Environment`` (the SDK's ``ModelPackage`` sends one beside
        ``ModelPackageName`` when given) laid over the package's."""
        if self.package_container is None:
            raise validation("ModelPackageName needs the model registry, which this engine does not run")
        served = dict(self.package_container(container["ModelPackageName"]))
        environment = {**(served.get("Environment") or {}), **(container.get("Environment") or {})}
        if environment:
            served["Environment"] = environment
        return served

    _op_DescribeModel = ResourceFamily.describe
    _op_DeleteModel = ResourceFamily.remove
    _op_ListModels = ResourceFamily.list
