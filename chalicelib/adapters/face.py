"""Face verification (人脸识别): compare a probe image with the face photo on file.

Production: Amazon Rekognition ``CompareFaces`` (source: the photo in the uploads bucket, target: the
probe bytes) with the policy's ``face_similarity_threshold`` (default 90). Local stage: the probe must
be byte-for-byte the photo on file, read from ``<local_dir>/uploads/<face_photo_key>``.
Face is never a login on its own: the caller always checks a password too.
"""

from __future__ import annotations

from chalicelib import adapters, policy, settings


class FaceError(Exception):
    """The comparison could not be made (service down, bad image)."""


class LocalFace:
    def matches(self, probe: bytes, photo_key: str) -> bool:
        root = (settings.get().local_dir / "uploads").resolve()
        path = (root / photo_key).resolve()
        if root not in path.parents or not path.is_file():
            return False
        return path.read_bytes() == probe


class RekognitionFace:
    def __init__(self, client=None, bucket: str | None = None):
        self._client = client
        self.bucket = bucket or settings.get().uploads_bucket

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("rekognition", region_name=settings.get().region)
        return self._client

    def matches(self, probe: bytes, photo_key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        threshold = policy.get().security.face_similarity_threshold
        try:
            answer = self.client.compare_faces(
                SourceImage={"S3Object": {"Bucket": self.bucket, "Name": photo_key}},
                TargetImage={"Bytes": probe},
                SimilarityThreshold=float(threshold),  # float ok: a percentage Rekognition takes as a float
                QualityFilter="AUTO",
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidParameterException", "InvalidImageFormatException", "ImageTooLargeException"):
                return False
            raise FaceError(str(exc)) from exc
        except BotoCoreError as exc:
            raise FaceError(str(exc)) from exc
        return any(match.get("Similarity", 0) >= threshold for match in answer.get("FaceMatches", []))


_verifier = None


def verifier():
    global _verifier
    if _verifier is None:
        _verifier = adapters.pick(LocalFace, RekognitionFace)
    return _verifier


def reset() -> None:
    global _verifier
    _verifier = None
