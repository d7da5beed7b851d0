"""The control plane of real-time hosting: endpoint configs (``Create/Describe/Delete/ListEndpointConfigs``)
and endpoints (``Create/Describe/Update/Delete/ListEndpoints``).

An endpoint config names existing models; an endpoint names an existing config. Their documents are
shaped like the ``Describe*`` responses; :class:`~include.local_sagemaker.hosting.Hosting` deploys,
updates and removes the endpoints' model servers (``Creating -> InService``). A duplicate endpoint is
``Cannot create already existing endpoint ...``, which the Airflow provider answers by updating it.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import (
    Listing,
    ResourceFamily,
    copied,
    require,
    tags_of,
)
from include.local_sagemaker.errors import validation
from include.local_sagemaker.hosting import Hosting
from include.local_sagemaker.models import Models
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore

__all__ = ["EndpointConfigs", "Endpoints"]


class EndpointConfigs(ResourceFamily):
    """``*EndpointConfig*`` operations over the ``endpoint-configs`` store."""

    listing = Listing(
        "EndpointConfigs", "EndpointConfigName", ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
    )
    missing = 'Could not find endpoint configuration "{arn}".'
    duplicate = 'Cannot create already existing endpoint configuration "{arn}".'

    def __init__(self, configs: ResourceStore, models: Models):
        super().__init__(configs)
        self.models = models

    def _op_CreateEndpointConfig(self, request: dict) -> dict:
        name = request["EndpointConfigName"]
        variants = []
        seen = set()
        for index, variant in enumerate(request["ProductionVariants"], 1):
            if variant["VariantName"] in seen:
                raise validation(
                    f"Variant names must be unique within an endpoint configuration: {variant['VariantName']}"
                )
            seen.add(variant["VariantName"])
            # The model makes ModelName optional for endpoints of inference components.
            require(variant, "ModelName", path=f"productionVariants.{index}.member")
            self.models.get(variant["ModelName"])
            variants.append(
                {
                    **variant,
                    "InitialVariantWeight": float(variant.get("InitialVariantWeight", 1.0)),
                    "InitialInstanceCount": variant.get("InitialInstanceCount", 1),
                }
            )
        document = {
            "EndpointConfigName": name,
            "EndpointConfigArn": arn("EndpointConfig", name),
            "ProductionVariants": variants,
            "CreationTime": time.time(),
            "_Tags": tags_of(request),
            **copied(request, ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")),
        }
        return self.create(document)

    _op_DescribeEndpointConfig = ResourceFamily.describe
    _op_DeleteEndpointConfig = ResourceFamily.remove
    _op_ListEndpointConfigs = ResourceFamily.list


class Endpoints(ResourceFamily):
    """``*Endpoint`` operations over the ``endpoints`` store; ``hosting`` runs what they ask for."""

    listing = Listing(
        "Endpoints",
        "EndpointName",
        ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus"),
        status_field="EndpointStatus",
    )
    missing = 'Could not find endpoint "{arn}".'
    duplicate = 'Cannot create already existing endpoint "{arn}".'

    def __init__(self, endpoints: ResourceStore, configs: EndpointConfigs, hosting: Hosting):
        super().__init__(endpoints)
        self.configs = configs
        self.hosting = hosting

    def _op_CreateEndpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        self.configs.get(request["EndpointConfigName"])
        now = time.time()
        document = {
            "EndpointName": name,
            "EndpointArn": arn("Endpoint", name),
            "EndpointConfigName": request["EndpointConfigName"],
            "EndpointStatus": "Creating",
            "CreationTime": now,
            "LastModifiedTime": now,
            "_Tags": tags_of(request),
        }
        created = self.create(document)
        self.hosting.create(name)
        return created

    _op_DescribeEndpoint = ResourceFamily.describe
    _op_ListEndpoints = ResourceFamily.list

    def _op_UpdateEndpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        with self.store.lock:
            endpoint = self.get(name)
            self.configs.get(request["EndpointConfigName"])
            if endpoint["EndpointStatus"] != "InService":
                raise validation(
                    f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".'
                    if endpoint["EndpointStatus"] in {"Creating", "Updating", "Deleting"}
                    else f"Endpoint {name} is {endpoint['EndpointStatus']}; only InService endpoints can be "
                    "updated."
                )
            endpoint.pop("FailureReason", None)
            endpoint.update(
                EndpointStatus="Updating",
                LastModifiedTime=time.time(),
                _PendingEndpointConfigName=request["EndpointConfigName"],
            )
            self.store.put(name, endpoint)
        self.hosting.update(name)
        return {"EndpointArn": endpoint["EndpointArn"]}

    def _op_DeleteEndpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        with self.store.lock:
            self.get(name)
            self.store.update(name, EndpointStatus="Deleting", LastModifiedTime=time.time())
        self.hosting.delete(name)
        return {}
