"""MediaService: message in, service call, message out. Logic lives in media_grpc.service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from media.v1 import media_pb2, media_pb2_grpc

from media_grpc.api import verdicts
from media_grpc.api.audit_messages import event_filter, media_event
from media_grpc.api.auth_interceptor import current_principal
from media_grpc.api.messages import MediaMessages, purpose_from_pb, status_from_pb, timestamp
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.service.audit_queries import AuditQueries
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.import_requests import ImportRequest
from media_grpc.service.imports import MediaImports
from media_grpc.service.posts import PostMedia
from media_grpc.service.queries import MediaQueries
from media_grpc.service.retry_processing import ProcessingRetries
from media_grpc.service.uploads import UploadRequest, UploadService
from media_grpc.service.watching import MediaWatching

Context = grpc.ServicerContext


class MediaServicer(media_pb2_grpc.MediaServiceServicer):
    def __init__(
        self,
        uploads: UploadService,
        queries: MediaQueries,
        messages: MediaMessages,
        *,
        posts: PostMedia,
        deletion: MediaDeletion,
        watching: MediaWatching | None = None,
        retries: ProcessingRetries | None = None,
        imports: MediaImports | None = None,
        audit: AuditQueries | None = None,
    ) -> None:
        self.uploads = uploads
        self.queries = queries
        self.messages = messages
        self.posts = posts
        self.deletion = deletion
        self.watching = watching or MediaWatching(queries.ctx)
        self.retries = retries or ProcessingRetries(queries.ctx)
        self.imports = imports
        self.audit = audit or AuditQueries(queries.ctx, queries.page_tokens)

    def CreateUploadSession(
        self, request: media_pb2.CreateUploadSessionRequest, context: Context
    ) -> media_pb2.CreateUploadSessionResponse:
        purpose = purpose_from_pb(request.purpose)
        assert purpose is not None
        session = self.uploads.create_session(
            current_principal(),
            UploadRequest(
                purpose=purpose,
                file_name=request.file_name,
                content_type=request.content_type,
                size_bytes=request.size_bytes,
                sha256=request.sha256 if request.HasField("sha256") else None,
                idempotency_key=request.idempotency_key,
                owner_id=request.owner_id,
            ),
        )
        response = media_pb2.CreateUploadSessionResponse(
            media_id=session.media.id, expires_at=timestamp(session.media.expires_at)
        )
        if session.deduplicated:
            response.deduplicated = True
            response.media.CopyFrom(self.messages.media(session.media))
        if session.single_put is not None:
            response.single_put.CopyFrom(self.messages.single_put(session.single_put))
        if session.media.multipart is not None:
            response.multipart.CopyFrom(
                self.messages.multipart(session.media.multipart, session.part_urls)
            )
        return response

    def CompleteUpload(
        self, request: media_pb2.CompleteUploadRequest, context: Context
    ) -> media_pb2.CompleteUploadResponse:
        media = self.uploads.complete_upload(
            current_principal(),
            request.media_id,
            [(part.part_number, part.etag) for part in request.parts],
            sha256=request.sha256 if request.HasField("sha256") else None,
        )
        return media_pb2.CompleteUploadResponse(media=self.messages.media(media))

    def GetMedia(
        self, request: media_pb2.GetMediaRequest, context: Context
    ) -> media_pb2.GetMediaResponse:
        principal = current_principal()
        media = self.queries.get(principal, request.media_id)
        original_url = self.queries.original_url(principal, media)
        return media_pb2.GetMediaResponse(
            media=self.messages.media(media, original_url=original_url)
        )

    def BatchGetMedia(
        self, request: media_pb2.BatchGetMediaRequest, context: Context
    ) -> media_pb2.BatchGetMediaResponse:
        found, missing = self.queries.batch_get(current_principal(), list(request.media_ids))
        return media_pb2.BatchGetMediaResponse(
            media=[self.messages.media(m) for m in found], not_found_ids=missing
        )

    def ListMediaEvents(
        self, request: media_pb2.ListMediaEventsRequest, context: Context
    ) -> media_pb2.ListMediaEventsResponse:
        page = self.audit.list(
            current_principal(),
            event_filter(request),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return media_pb2.ListMediaEventsResponse(
            events=[media_event(e) for e in page.events], next_page_token=page.next_page_token
        )

    def ListMedia(
        self, request: media_pb2.ListMediaRequest, context: Context
    ) -> media_pb2.ListMediaResponse:
        page = self.queries.list(
            current_principal(),
            owner_id=request.owner_id,
            status=status_from_pb(request.status),
            purpose=purpose_from_pb(request.purpose, required=False),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return media_pb2.ListMediaResponse(
            media=[self.messages.media(m) for m in page.media],
            next_page_token=page.next_page_token,
        )

    def GetUploadPartUrls(
        self, request: media_pb2.GetUploadPartUrlsRequest, context: Context
    ) -> media_pb2.GetUploadPartUrlsResponse:
        urls = self.uploads.part_urls(
            current_principal(), request.media_id, list(request.part_numbers)
        )
        return media_pb2.GetUploadPartUrlsResponse(
            part_urls=[self.messages.part_url(u) for u in urls]
        )

    def ListUploadedParts(
        self, request: media_pb2.ListUploadedPartsRequest, context: Context
    ) -> media_pb2.ListUploadedPartsResponse:
        session, parts = self.uploads.uploaded_parts(current_principal(), request.media_id)
        return media_pb2.ListUploadedPartsResponse(
            parts=[self.messages.uploaded_part(p) for p in parts],
            part_size=session.part_size,
            part_count=session.part_count,
        )

    def AbortUpload(
        self, request: media_pb2.AbortUploadRequest, context: Context
    ) -> media_pb2.AbortUploadResponse:
        media = self.uploads.abort_upload(current_principal(), request.media_id)
        return media_pb2.AbortUploadResponse(media=self.messages.media(media))

    async def WatchMedia(  # type: ignore[override]
        self, request: media_pb2.WatchMediaRequest, context: object
    ) -> AsyncIterator[media_pb2.WatchMediaResponse]:
        """On the event loop: holds no thread while it waits for the next change."""
        async for media in self.watching.watch(current_principal(), request.media_id):
            yield media_pb2.WatchMediaResponse(media=self.messages.media(media))

    def DeleteMedia(
        self, request: media_pb2.DeleteMediaRequest, context: Context
    ) -> media_pb2.DeleteMediaResponse:
        media = self.deletion.delete(current_principal(), request.media_id)
        return media_pb2.DeleteMediaResponse(media=self.messages.media(media))

    def RetryProcessing(
        self, request: media_pb2.RetryProcessingRequest, context: Context
    ) -> media_pb2.RetryProcessingResponse:
        media = self.retries.retry(current_principal(), request.media_id)
        return media_pb2.RetryProcessingResponse(media=self.messages.media(media))

    def GetProfileImage(
        self, request: media_pb2.GetProfileImageRequest, context: Context
    ) -> media_pb2.GetProfileImageResponse:
        media = self.queries.profile_image(current_principal(), request.owner_id)
        if media is None:
            return media_pb2.GetProfileImageResponse()
        return media_pb2.GetProfileImageResponse(media=self.messages.media(media))

    def ValidateOwnership(
        self, request: media_pb2.ValidateOwnershipRequest, context: Context
    ) -> media_pb2.ValidateOwnershipResponse:
        verdict = self.posts.validate_ownership(
            current_principal(), request.owner_id, request.media_id
        )
        return verdicts.ownership(verdict)

    def ValidateMedia(
        self, request: media_pb2.ValidateMediaRequest, context: Context
    ) -> media_pb2.ValidateMediaResponse:
        found = self.posts.validate_media(
            current_principal(), request.owner_id, list(request.media_ids), request.post_id
        )
        return verdicts.validation(found)

    def AttachMedia(
        self, request: media_pb2.AttachMediaRequest, context: Context
    ) -> media_pb2.AttachMediaResponse:
        attached = self.posts.attach(
            current_principal(), request.post_id, request.owner_id, list(request.media_ids)
        )
        return media_pb2.AttachMediaResponse(media=[self.messages.media(m) for m in attached])

    def DetachMedia(
        self, request: media_pb2.DetachMediaRequest, context: Context
    ) -> media_pb2.DetachMediaResponse:
        detached = self.posts.detach(current_principal(), request.post_id)
        return media_pb2.DetachMediaResponse(media_ids=detached)

    def ImportMedia(
        self, request: media_pb2.ImportMediaRequest, context: Context
    ) -> media_pb2.ImportMediaResponse:
        purpose = purpose_from_pb(request.purpose)
        assert purpose is not None
        result = self._imports().import_media(
            current_principal(),
            ImportRequest(
                url=request.url,
                owner_id=request.owner_id,
                purpose=purpose,
                post_id=request.post_id,
                post_position=request.post_position,
                idempotency_key=request.idempotency_key,
                validate_only=request.validate_only,
            ),
        )
        response = media_pb2.ImportMediaResponse(created=result.created)
        if result.media is not None:
            response.media.CopyFrom(self.messages.media(result.media))
        return response

    def ResolveLegacyUrl(
        self, request: media_pb2.ResolveLegacyUrlRequest, context: Context
    ) -> media_pb2.ResolveLegacyUrlResponse:
        media = self._imports().resolve(current_principal(), request.url)
        return media_pb2.ResolveLegacyUrlResponse(media=self.messages.media(media))

    def _imports(self) -> MediaImports:
        if self.imports is None:
            raise FailedPrecondition("import from legacy URLs is not configured on this server")
        return self.imports
