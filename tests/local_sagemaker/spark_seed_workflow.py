"""The SageMaker Spark seeds' cells as written, with ``sagemaker_pyspark``, against the local engine.

``python spark_seed_workflow.py <seed> <role ARN> <engine URL> <result file>`` runs in the SageMaker Spark
virtualenv (``make spark``); the sample data is already in ``sagemaker-sample-data-<region>`` under
``spark/mnist/{train,test}/`` in libsvm, as the public bucket holds it. ``<seed>`` is one of the
amazon-sagemaker-examples notebooks in ``sagemaker-spark/pyspark_mnist/``:

- ``xgboost``: ``pyspark_mnist_xgboost.ipynb`` (seed 000), XGBoost fit → transform → cleanup;
- ``pca_kmeans``: ``pyspark_mnist_pca_kmeans.ipynb`` (seed 001), the PCA → k-means pipeline fit →
  transform → cleanup.

What differs from the notebooks is the wiring to the engine and the role, nothing else:

- the role is the argument: ``get_execution_role()`` works only on a notebook instance, so its import
  (and ``import sagemaker``, which the notebooks use for nothing else) is left out;
- the estimators get the engine's SageMaker, S3 and STS clients through their own ``sagemakerClient``,
  ``s3Client`` and ``stsClient`` parameters, and the transform's runtime client is set where SageMaker
  Spark keeps it (``RequestBatchIterator.sagemakerRuntime``, a ``var`` for this purpose; in local mode the
  executors share the driver's JVM);
- Hadoop's s3a reaches the engine by ``fs.s3a.endpoint`` with path-style access; seed 000's own
  ``fs.s3a.endpoint`` line, which names the regional S3 host, names the engine instead.

The notebooks' display cells run too (matplotlib draws off-screen). The result file holds what the test
asserts on: the trained models' jobs, the transformed rows' labels and predictions, and what is left.
"""

# The notebooks' own spelling, kept as written.
# ruff: noqa: B018, B905, E501, E711, E741, F401, F811, F841, I001, UP032

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")

SEED, ROLE, ENGINE_URL, RESULT_FILE = sys.argv[1:5]
REGION = "us-east-1"


def engine_clients(spark):
    """The Java clients SageMaker Spark builds, pointed at the engine: ``(sagemaker, s3, sts)`` for the
    estimators; the transform's runtime client and Hadoop's s3a are pointed at it in place."""
    endpoint = getattr(spark._jvm.com.amazonaws.client.builder, "AwsClientBuilder$EndpointConfiguration")(
        ENGINE_URL, REGION
    )

    def at_engine(builder):
        return builder.withEndpointConfiguration(endpoint).build()

    aws = spark._jvm.com.amazonaws.services
    sagemaker = at_engine(aws.sagemaker.AmazonSageMakerClientBuilder.standard())
    s3 = at_engine(aws.s3.AmazonS3ClientBuilder.standard().withPathStyleAccessEnabled(True))
    sts = at_engine(aws.securitytoken.AWSSecurityTokenServiceClientBuilder.standard())
    runtime = at_engine(aws.sagemakerruntime.AmazonSageMakerRuntimeClientBuilder.standard())
    iterator = aws.sagemaker.sparksdk.transformation.util.RequestBatchIterator
    getattr(iterator, "sagemakerRuntime_$eq")(runtime)
    hadoop = spark._jsc.hadoopConfiguration()
    hadoop.set("fs.s3a.endpoint", ENGINE_URL)
    hadoop.set("fs.s3a.path.style.access", "true")
    return sagemaker, s3, sts


def java8_random_name_policy_factory(prefix: str):
    """``RandomNamePolicyFactory(prefix)`` with the names SageMaker Spark gives on the Java 8 it was built for.

    ``RandomNamePolicy`` names each resource ``<prefix><kind>-<uid>-<LocalDateTime.now()>``; Java 8's clock
    ticks in milliseconds, Java 9 and later's in micro- or nanoseconds (JDK-8068730): up to six more digits,
    which take seed 001's ``sparksm-3p-trainingJob-…`` (66 characters on Java 17) and
    ``sparksm-3p-endpointConfig-…`` past the 63 SageMaker allows a ``TrainingJobName`` or an
    ``EndpointConfigName``, on AWS as locally. This makes the same names with the millisecond timestamp, so
    the seed's prefixes run on the Java 17 here.
    """
    from datetime import datetime
    from uuid import uuid4

    from sagemaker_pyspark import CustomNamePolicyFactory

    now = datetime.now()
    # ISO_LOCAL_DATE_TIME prints the fraction without trailing zeros, and none for a whole second.
    fraction = f"{now.microsecond // 1000:03d}".rstrip("0")
    stamp = now.strftime("%Y-%m-%dT%H-%M-%S") + (f"-{fraction}" if fraction else "")
    uid = uuid4().hex[:12]
    kinds = ("trainingJob", "model", "endpointConfig", "endpoint")
    names = (f"{prefix}{kind}-{uid}-{stamp}" for kind in kinds)
    return CustomNamePolicyFactory(*names)


def record(result: dict) -> None:
    with open(RESULT_FILE, "w") as out:
        json.dump(result, out, indent=2, default=str)


def xgboost_seed() -> dict:
    """Seed 000, ``pyspark_mnist_xgboost.ipynb``, cell by cell."""
    result: dict = {}

    # fmt: off
    # --- Setup
    import os

    from pyspark import SparkContext, SparkConf
    from pyspark.sql import SparkSession

    import sagemaker_pyspark

    role = ROLE

    # Configure Spark to use the SageMaker Spark dependency jars
    jars = sagemaker_pyspark.classpath_jars()

    classpath = ":".join(sagemaker_pyspark.classpath_jars())

    # See the SageMaker Spark Github repo under sagemaker-pyspark-sdk
    # to learn how to connect to a remote EMR cluster running Spark from a Notebook Instance.
    spark = SparkSession.builder.config("spark.driver.extraClassPath", classpath)\
        .master("local[*]").getOrCreate()

    sagemakerClient, s3Client, stsClient = engine_clients(spark)

    # --- Loading the Data
    import boto3

    cn_regions = ['cn-north-1', 'cn-northwest-1']
    region = boto3.Session().region_name
    endpoint_domain = 'com.cn' if region in cn_regions else 'com'
    spark._jsc.hadoopConfiguration().set('fs.s3a.endpoint', ENGINE_URL)

    trainingData = spark.read.format('libsvm')\
        .option('numFeatures', '784')\
        .option('vectorType', 'dense')\
        .load('s3a://sagemaker-sample-data-{}/spark/mnist/train/'.format(region))

    testData = spark.read.format('libsvm')\
        .option('numFeatures', '784')\
        .option('vectorType', 'dense')\
        .load('s3a://sagemaker-sample-data-{}/spark/mnist/test/'.format(region))

    trainingData.show()

    # --- Training and Hosting a Model
    import random
    from sagemaker_pyspark import IAMRole, S3DataPath
    from sagemaker_pyspark.algorithms import XGBoostSageMakerEstimator

    xgboost_estimator = XGBoostSageMakerEstimator(
        sagemakerRole=IAMRole(role),
        trainingInstanceType='ml.m4.xlarge',
        trainingInstanceCount=1,
        endpointInstanceType='ml.m4.xlarge',
        endpointInitialInstanceCount=1,
        sagemakerClient=sagemakerClient, s3Client=s3Client, stsClient=stsClient)

    xgboost_estimator.setEta(0.2)
    xgboost_estimator.setGamma(4)
    xgboost_estimator.setMinChildWeight(6)
    xgboost_estimator.setSilent(0)
    xgboost_estimator.setObjective("multi:softmax")
    xgboost_estimator.setNumClasses(10)
    xgboost_estimator.setNumRound(10)

    # train
    model = xgboost_estimator.fit(trainingData)
    result["fit"] = {"resources": str(model.getCreatedResources()._to_java())}
    record(result)

    # --- Inference
    transformedData = model.transform(testData)

    transformedData.show()

    from pyspark.sql.types import DoubleType
    import matplotlib.pyplot as plt
    import numpy as np

    # helper function to display a digit
    def show_digit(img, caption='', xlabel='', subplot=None):
        if subplot==None:
            _,(subplot)=plt.subplots(1,1)
        imgr=img.reshape((28,28))
        subplot.axes.get_xaxis().set_ticks([])
        subplot.axes.get_yaxis().set_ticks([])
        plt.title(caption)
        plt.xlabel(xlabel)
        subplot.imshow(imgr, cmap='gray')

    images = np.array(transformedData.select("features").cache().take(250))
    clusters = transformedData.select("prediction").cache().take(250)

    for cluster in range(10):
        print('\n\n\nCluster {}:'.format(int(cluster)))
        digits=[ img for l, img in zip(clusters, images) if int(l.prediction) == cluster ]
        height=((len(digits) - 1) // 5) + 1
        width=5
        plt.rcParams["figure.figsize"] = (width,height)
        _, subplots = plt.subplots(height, width)
        subplots=np.ndarray.flatten(subplots)
        for subplot, image in zip(subplots, digits):
            show_digit(image, subplot=subplot)
        for subplot in subplots[len(digits):]:
            subplot.axis('off')

        plt.show()
    plt.close("all")

    rows = transformedData.select("label", "prediction").collect()
    result["transform"] = {"labels": [r.label for r in rows], "predictions": [r.prediction for r in rows]}
    record(result)

    # --- Delete the endpoint

    from sagemaker_pyspark import SageMakerResourceCleanup

    resource_cleanup = SageMakerResourceCleanup(model.sagemakerClient)
    resource_cleanup.deleteResources(model.getCreatedResources())
    result["cleanup"] = True
    # fmt: on
    return result


def pca_kmeans_seed() -> dict:
    """Seed 001, ``pyspark_mnist_pca_kmeans.ipynb``, cell by cell."""
    result: dict = {}

    # fmt: off
    # --- Setup
    import os
    import boto3

    from pyspark import SparkContext, SparkConf
    from pyspark.sql import SparkSession

    import sagemaker_pyspark

    role = ROLE

    # Configure Spark to use the SageMaker Spark dependency jars
    jars = sagemaker_pyspark.classpath_jars()

    classpath = ":".join(sagemaker_pyspark.classpath_jars())

    # See the SageMaker Spark Github to learn how to connect to EMR from a notebook instance
    spark = SparkSession.builder.config("spark.driver.extraClassPath", classpath)\
        .master("local[*]").getOrCreate()

    spark

    sagemakerClient, s3Client, stsClient = engine_clients(spark)

    # --- Loading the Data
    import boto3

    region = boto3.Session().region_name

    trainingData = spark.read.format('libsvm')\
        .option('numFeatures', '784')\
        .load('s3a://sagemaker-sample-data-{}/spark/mnist/train/'.format(region))

    testData = spark.read.format('libsvm')\
        .option('numFeatures', '784')\
        .load('s3a://sagemaker-sample-data-{}/spark/mnist/test/'.format(region))

    trainingData.show()

    # --- Create a pipeline with PCA and K-Means on SageMaker
    from pyspark.ml import Pipeline

    from sagemaker_pyspark.algorithms import PCASageMakerEstimator, KMeansSageMakerEstimator
    from sagemaker_pyspark import RandomNamePolicyFactory, IAMRole, EndpointCreationPolicy
    from sagemaker_pyspark.transformation.serializers import ProtobufRequestRowSerializer

    # ML pipeline with 2 stages: PCA and K-Means

    # 1st stage: PCA on SageMaker
    pcaSageMakerEstimator = PCASageMakerEstimator(
      sagemakerRole = IAMRole(role),
      trainingInstanceType = "ml.m4.xlarge",
      trainingInstanceCount = 1,
      endpointInstanceType = "ml.t2.large",
      endpointInitialInstanceCount = 1,
      namePolicyFactory=java8_random_name_policy_factory("sparksm-3p-"),
      sagemakerClient=sagemakerClient, s3Client=s3Client, stsClient=stsClient
    )

    # Set parameters for PCA (number of features in input and the number of principal components to find)
    pcaSageMakerEstimator.setFeatureDim(784)
    pcaSageMakerEstimator.setNumComponents(50)

    # 2nd stage: K-Means on SageMaker
    kMeansSageMakerEstimator = KMeansSageMakerEstimator(
      sagemakerRole = IAMRole(role),
      trainingSparkDataFormatOptions = {"featuresColumnName": "projection"}, # Default output column generated by PCASageMakerEstimator
      requestRowSerializer = ProtobufRequestRowSerializer(featuresColumnName = "projection"), # Default output column generated by PCASageMakerEstimator
      trainingInstanceType = "ml.m4.xlarge",
      trainingInstanceCount = 1,
      endpointInstanceType = "ml.t2.large",
      endpointInitialInstanceCount = 1,
      namePolicyFactory=java8_random_name_policy_factory("sparksm-3k-"),
      endpointCreationPolicy = EndpointCreationPolicy.CREATE_ON_TRANSFORM,
      sagemakerClient=sagemakerClient, s3Client=s3Client, stsClient=stsClient
    )

    # Set parameters for K-Means
    kMeansSageMakerEstimator.setFeatureDim(50)
    kMeansSageMakerEstimator.setK(10)

    # Define the stages of the Pipeline in order
    pipelineSM = Pipeline(stages=[pcaSageMakerEstimator, kMeansSageMakerEstimator])

    # Train
    pipelineModelSM = pipelineSM.fit(trainingData)
    result["fit"] = {"resources": [str(m.getCreatedResources()._to_java()) for m in pipelineModelSM.stages]}
    record(result)

    # --- Inference
    transformedData = pipelineModelSM.transform(testData)
    transformedData.show()

    from pyspark.sql.types import DoubleType
    import matplotlib.pyplot as plt
    import numpy as np
    import string

    # Helper function to display a digit
    def showDigit(img, caption='', xlabel='', subplot=None):
        if subplot==None:
            _,(subplot)=plt.subplots(1,1)
        imgr=img.reshape((28,28))
        subplot.axes.get_xaxis().set_ticks([])
        subplot.axes.get_yaxis().set_ticks([])
        plt.title(caption)
        plt.xlabel(xlabel)
        subplot.imshow(imgr, cmap='gray')

    def displayClusters(data):
        images = np.array(data.select("features").cache().take(250))
        clusters = data.select("closest_cluster").cache().take(250)

        for cluster in range(10):
            print('\n\n\nCluster {}:'.format(string.ascii_uppercase[cluster]))
            digits = [ img for l, img in zip(clusters, images) if int(l.closest_cluster) == cluster ]
            height=((len(digits)-1)//5)+1
            width=5
            plt.rcParams["figure.figsize"] = (width,height)
            _, subplots = plt.subplots(height, width)
            subplots=np.ndarray.flatten(subplots)
            for subplot, image in zip(subplots, digits):
                showDigit(image, subplot=subplot)
            for subplot in subplots[len(digits):]:
                subplot.axis('off')

            plt.show()

    displayClusters(transformedData)
    plt.close("all")

    rows = transformedData.select("label", "projection", "closest_cluster", "distance_to_cluster").collect()
    result["transform"] = {
        "labels": [r.label for r in rows],
        "projection_sizes": sorted({len(r.projection) for r in rows}),
        "clusters": [r.closest_cluster for r in rows],
        "distances": [r.distance_to_cluster for r in rows],
    }
    record(result)

    # --- Clean-up
    # Delete the resources
    from sagemaker_pyspark import SageMakerResourceCleanup
    from sagemaker_pyspark import SageMakerModel

    def cleanUp(model):
        resource_cleanup = SageMakerResourceCleanup(model.sagemakerClient)
        resource_cleanup.deleteResources(model.getCreatedResources())

    # Delete the SageMakerModel in pipeline
    for m in pipelineModelSM.stages:
        if isinstance(m, SageMakerModel):
            cleanUp(m)
    result["cleanup"] = True
    # fmt: on
    return result


if __name__ == "__main__":
    record({"seed": SEED})
    outcome = {"xgboost": xgboost_seed, "pca_kmeans": pca_kmeans_seed}[SEED]()
    record(outcome)
