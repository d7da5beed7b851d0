"""The SageMaker Model Registry: model package groups and the model packages in them.

A *versioned* package lives in a group and is numbered 1, 2, ... per group in creation order; a number
is never reused, even after its package is deleted, as on SageMaker. Its ARN is
``arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`` and its approval status
(``PendingManualApproval`` by default, ``Approved``, ``Rejected``) can be changed with
``UpdateModelPackage``. An *unversioned* package has a ``ModelPackageName`` of its own and no approval
status. Nothing is validated or scanned, so a package is ``Completed`` as soon as it is created.

The Airflow provider's ``SageMakerRegisterModelVersionOperator`` creates the group first and relies on
the error message of a second creation starting with ``Model Package Group already exists``.
"""

from __future__ import annotations

import re
import time

from include.local_sagemaker.api_support import (
    Listing,
    TaggedStore,
    create_unique,
    lookup,
    public,
    require,
    tags_of,
)
from include.local_sagemaker.errors import ServiceError, validation
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore

# ``<name>``, ``<name>/<version>`` or either behind an ARN prefix: the service model's
# VersionedArnOrName pattern, with groups to take it apart.
_ARN_OR_NAME = re.compile(
    r"(?:arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:(?P<kind>[a-z\-]*)/)?"
    r"(?P<name>[a-zA-Z0-9](?:[a-zA-Z0-9-]){0,62})(?<!-)(?:/(?P<version>[0-9]{1,9}))?"
)
_CREATED_BY = {"UserProfileArn": "", "UserProfileName": "", "DomainId": ""}
_COPIED_PACKAGE_FIELDS = (
    "InferenceSpecification",
    "ValidationSpecification",
    "SourceAlgorithmSpecification",
    "MetadataProperties",
    "ModelMetrics",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ModelCard",
    "ModelLifeCycle",
)
_GROUP_LISTING = Listing(
    "ModelPackageGroupSummaryList",
    "ModelPackageGroupName",
    (
        "ModelPackageGroupName",
        "ModelPackageGroupArn",
        "ModelPackageGroupDescription",
        "CreationTime",
        "ModelPackageGroupStatus",
    ),
)
_PACKAGE_LISTING = Listing(
    "ModelPackageSummaryList",
    "ModelPackageName",
    (
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "ModelPackageStatus",
        "ModelApprovalStatus",
        "ModelLifeCycle",
        "ModelPackageRegistrationType",
    ),
)


def _conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message)


def _parse_reference(value: str) -> tuple[str, int | None] | None:
    """``name``, ``name/3`` or an ARN of either -> ``(name, version or None)``; None for anything else
    (a ``ModelPackageArn`` the model admits may still name no package this way)."""
    match = _ARN_OR_NAME.fullmatch(value)
    if not match:
        return None
    version = match.group("version")
    return match.group("name"), int(version) if version else None


def _check_inference_specification(specification: dict | None) -> None:
    if specification is None:
        return
    for index, container in enumerate(specification["Containers"], 1):
        # The model makes Image optional (for containers of a marketplace algorithm).
        require(container, "Image", path=f"inferenceSpecification.containers.{index}.member")


class ModelRegistry:
    """``*ModelPackageGroup*`` and ``*ModelPackage*`` operations over two resource stores.

    Versioned packages are stored under ``<group>/<version>``, unversioned ones under their name;
    a group document keeps the next version number in ``_NextVersion``.
    """

    def __init__(self, groups: ResourceStore, packages: ResourceStore):
        self.groups = groups
        self.packages = packages

    def tagged_stores(self) -> list[TaggedStore]:
        """``(store, field holding the store key, ARN field)`` for ``AddTags``/``ListTags``."""
        return [
            (self.groups, "ModelPackageGroupName", "ModelPackageGroupArn"),
            (self.packages, "_Key", "ModelPackageArn"),
        ]

    # -- groups ---------------------------------------------------------------------------------
    def _op_CreateModelPackageGroup(self, request: dict) -> dict:
        name = request["ModelPackageGroupName"]
        description = request.get("ModelPackageGroupDescription") or ""
        group_arn = arn("ModelPackageGroup", name)
        document = {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": group_arn,
            "ModelPackageGroupStatus": "Completed",
            "CreationTime": time.time(),
            "CreatedBy": dict(_CREATED_BY),
            "_NextVersion": 1,
            "_Tags": tags_of(request),
        }
        if description:
            document["ModelPackageGroupDescription"] = description
        create_unique(
            self.groups, name, document, validation(f"Model Package Group already exists: {group_arn}")
        )
        return {"ModelPackageGroupArn": group_arn}

    def _group(self, reference: str) -> dict:
        name, _ = _parse_reference(reference)  # an ArnOrName of the model always parses
        return lookup(
            self.groups, name, f"ModelPackageGroup {arn('ModelPackageGroup', name)} does not exist."
        )

    def _op_DescribeModelPackageGroup(self, request: dict) -> dict:
        return public(self._group(request["ModelPackageGroupName"]))

    def _op_DeleteModelPackageGroup(self, request: dict) -> dict:
        with self.groups.lock, self.packages.lock:
            group = self._group(request["ModelPackageGroupName"])
            name = group["ModelPackageGroupName"]
            versions = [p for p in self.packages.all() if p.get("ModelPackageGroupName") == name]
            if versions:
                raise _conflict(
                    f"Model Package Group {group['ModelPackageGroupArn']} still holds {len(versions)} model "
                    "package(s); delete them with DeleteModelPackage first."
                )
            self.groups.delete(name)
        return {}

    def _op_ListModelPackageGroups(self, request: dict) -> dict:
        return _GROUP_LISTING.respond(self.groups.all(), request)

    # -- packages -------------------------------------------------------------------------------
    def _op_CreateModelPackage(self, request: dict) -> dict:
        group_reference = request.get("ModelPackageGroupName")
        package_name = request.get("ModelPackageName")
        if bool(group_reference) == bool(package_name):
            raise validation(
                "Specify exactly one of ModelPackageGroupName (a versioned package) and ModelPackageName "
                f"(an unversioned package); got ModelPackageGroupName={group_reference!r}, "
                f"ModelPackageName={package_name!r}"
            )
        _check_inference_specification(request.get("InferenceSpecification"))
        if not group_reference:
            require(request, "InferenceSpecification")
        description = request.get("ModelPackageDescription") or ""
        token = request.get("ClientToken")
        now = time.time()
        document = {
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": bool(request.get("CertifyForMarketplace", False)),
            "CreationTime": now,
            "LastModifiedTime": now,
            "CreatedBy": dict(_CREATED_BY),
            "_ClientToken": token,
            "_Tags": tags_of(request),
        }
        if description:
            document["ModelPackageDescription"] = description
        document.update({field: request[field] for field in _COPIED_PACKAGE_FIELDS if field in request})
        with self.groups.lock, self.packages.lock:
            if token:
                # botocore fills ClientToken in for every call, so a retried request finds its package.
                for existing in self.packages.all():
                    if existing.get("_ClientToken") == token:
                        return {"ModelPackageArn": existing["ModelPackageArn"]}
            if group_reference:
                group = self._group(group_reference)
                group_name = group["ModelPackageGroupName"]
                version = group["_NextVersion"]
                key = f"{group_name}/{version}"
                document.update(
                    ModelPackageName=group_name,
                    ModelPackageGroupName=group_name,
                    ModelPackageVersion=version,
                    ModelPackageArn=arn("ModelPackage", key),
                    ModelApprovalStatus=request.get("ModelApprovalStatus") or "PendingManualApproval",
                    ModelPackageRegistrationType=request.get("ModelPackageRegistrationType", "Logged"),
                    _Key=key,
                )
                # The counter is persisted first: a crash between the writes skips a number, never
                # hands one out twice.
                self.groups.update(group_name, _NextVersion=version + 1)
            else:
                key = package_name
                if "ModelApprovalStatus" in request:
                    raise validation(
                        "ModelApprovalStatus applies to versioned model packages only; "
                        f"{package_name!r} is unversioned (no ModelPackageGroupName)"
                    )
                if key in self.packages:
                    raise _conflict(f"Model Package {arn('ModelPackage', key)} already exists.")
                document.update(ModelPackageName=key, ModelPackageArn=arn("ModelPackage", key), _Key=key)
            self.packages.put(key, document)
        return {"ModelPackageArn": document["ModelPackageArn"]}

    def _package(self, reference: str) -> dict:
        parsed = _parse_reference(reference)
        if parsed is None:
            raise validation(f"ModelPackage {reference} does not exist.")
        name, version = parsed
        key = f"{name}/{version}" if version is not None else name
        package = self.packages.get(key)
        if package is None:
            # ARNs carry names lower-cased, so an ARN may name a package whose key has capitals.
            lowered = key.lower()
            package = next((p for p in self.packages.all() if p["_Key"].lower() == lowered), None)
        if package is None:
            raise validation(f"ModelPackage {arn('ModelPackage', key)} does not exist.")
        return package

    def inference_container(self, reference: str) -> dict:
        """The container that serves model package ``reference`` (name, ``group/version`` or ARN): the
        first of its ``InferenceSpecification``, with its ``Image``, ``ModelDataUrl`` and ``Environment``.
        This is what a model created with ``ModelPackageName`` in its container runs."""
        package = self._package(reference)
        specification = package.get("InferenceSpecification")
        if not specification:
            raise validation(
                f"ModelPackage {package['ModelPackageArn']} has no InferenceSpecification to create a "
                "model from."
            )
        return specification["Containers"][0]

    def _op_DescribeModelPackage(self, request: dict) -> dict:
        return public(self._package(request["ModelPackageName"]))

    def _op_UpdateModelPackage(self, request: dict) -> dict:
        with self.packages.lock:
            package = self._package(request["ModelPackageArn"])
            changes: dict = {"LastModifiedTime": time.time(), "LastModifiedBy": dict(_CREATED_BY)}
            if "ModelApprovalStatus" in request:
                if "ModelPackageVersion" not in package:
                    raise validation(
                        f"Model package {package['ModelPackageArn']} is unversioned; only versioned "
                        "model packages have an approval status"
                    )
                changes["ModelApprovalStatus"] = request["ModelApprovalStatus"]
            if "ApprovalDescription" in request:
                changes["ApprovalDescription"] = request["ApprovalDescription"]
            if "InferenceSpecification" in request:
                _check_inference_specification(request["InferenceSpecification"])
                changes["InferenceSpecification"] = request["InferenceSpecification"]
            for field in ("SourceUri", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType"):
                if field in request:
                    changes[field] = request[field]
            metadata = dict(package.get("CustomerMetadataProperties") or {})
            metadata.update(request.get("CustomerMetadataProperties") or {})
            for doomed in request.get("CustomerMetadataPropertiesToRemove") or []:
                metadata.pop(doomed, None)
            if metadata or "CustomerMetadataProperties" in package:
                changes["CustomerMetadataProperties"] = metadata
            if request.get("AdditionalInferenceSpecificationsToAdd"):
                changes["AdditionalInferenceSpecifications"] = [
                    *(package.get("AdditionalInferenceSpecifications") or []),
                    *request["AdditionalInferenceSpecificationsToAdd"],
                ]
            self.packages.update(package["_Key"], **changes)
        return {"ModelPackageArn": package["ModelPackageArn"]}

    def _op_DeleteModelPackage(self, request: dict) -> dict:
        with self.packages.lock:
            package = self._package(request["ModelPackageName"])
            self.packages.delete(package["_Key"])
        return {}

    def _op_ListModelPackages(self, request: dict) -> dict:
        package_type = request.get("ModelPackageType")
        group_name = None
        if request.get("ModelPackageGroupName"):
            group_name, _ = _parse_reference(request["ModelPackageGroupName"])
        # As on SageMaker: a group's listing is its versions; otherwise unversioned packages by default.
        package_type = package_type or ("Versioned" if group_name else "Unversioned")
        approval = request.get("ModelApprovalStatus")

        def wanted(package: dict) -> bool:  # NameContains and the time bounds are the listing's
            versioned = "ModelPackageVersion" in package
            return (
                (package_type == "Both" or versioned == (package_type == "Versioned"))
                and (group_name is None or package.get("ModelPackageGroupName") == group_name)
                and (approval is None or package.get("ModelApprovalStatus") == approval)
            )

        # Versions of one group share a name and a creation second; the version breaks the tie.
        items = sorted(
            (package for package in self.packages.all() if wanted(package)),
            key=lambda p: p.get("ModelPackageVersion", 0),
        )
        return _PACKAGE_LISTING.respond(items, request)
