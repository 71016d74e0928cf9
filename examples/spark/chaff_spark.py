#!/usr/bin/env python3
"""Clean a JSONL dump with chaff on Apache Spark.

Every partition of the dump is piped through `chaff -q filter --jsonl -` (RDD.pipe): chaff
reads the partition's records on stdin and writes the cleaned records (text reduced to the
kept lines; documents left empty dropped) on stdout. The binary is shipped to the
executors with `--files`.

    spark-submit --master yarn --files target/release/chaff \\
        examples/spark/chaff_spark.py hdfs:///dumps/in.jsonl hdfs:///dumps/clean [PARTITIONS]

Extra chaff flags (e.g. `--threshold 0.05` or `-m model.chaff`, shipping the model with
--files too) go in CHAFF_ARGS. Each executor task runs one chaff process; give chaff one
thread per task core with `--threads` in CHAFF_ARGS if tasks have several cores.
"""
import os
import shlex
import sys

from pyspark import SparkFiles
from pyspark.sql import SparkSession


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    partitions = int(sys.argv[3]) if len(sys.argv) > 3 else None
    spark = SparkSession.builder.appName("chaff-filter").getOrCreate()
    sc = spark.sparkContext
    # Files shipped with --files land in each executor's working directory (YARN, k8s) and
    # under SparkFiles' root in local mode.
    chaff = os.environ.get("CHAFF_EXECUTOR_PATH") or SparkFiles.get("chaff")
    args = shlex.split(os.environ.get("CHAFF_ARGS", ""))
    command = [chaff, "-q", "--threads", "1", *args, "filter", "--jsonl", "-"]
    records = sc.textFile(src, minPartitions=partitions) if partitions else sc.textFile(src)
    cleaned = records.pipe(shlex.join(command), checkCode=True)
    cleaned.saveAsTextFile(dst)
    spark.stop()


if __name__ == "__main__":
    main()
