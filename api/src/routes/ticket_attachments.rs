//! `/v1/tickets/{id}/attachments`: files as raw request bodies, typed by their content,
//! served back only as downloads (crate::app::support::attachments).

use actix_web::http::header::{self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::policy::Action;
use hostadmin_domain::support::{AttachmentRefusal, AttachmentType, Filename, MAX_ATTACHMENT_BYTES};
use hostadmin_domain::validation::Invalid;

use crate::app::access;
use crate::app::support::attachments::{self as use_case, Upload};
use crate::auth::Principal;
use crate::http::problem::ApiError;
use crate::http::upload;
use crate::state::AppState;
use crate::views::support::AttachmentView;

/// A file's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileContent(#[allow(dead_code)] Vec<u8>);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, when `Content-Disposition` names none (default:
    /// `attachment.<extension>`). At most 255 characters, trimmed; no control
    /// characters, no path (`/`, `\\`), not `.` or `..`.
    #[param(format = "file-name", max_length = 255)]
    pub filename: Option<String>,
}

fn refused(refusal: AttachmentRefusal) -> ApiError {
    match refusal {
        AttachmentRefusal::Empty => ApiError::field("/body", Invalid::new("empty", refusal.detail())),
        other => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", other.detail()),
    }
}

/// The file's name: the query parameter, else `Content-Disposition`'s, else a default.
fn filename(request: &HttpRequest, query: &UploadQuery, kind: AttachmentType) -> Result<Filename, ApiError> {
    if let Some(name) = &query.filename {
        return Filename::parse(name).map_err(|invalid| ApiError::field("/query/filename", invalid));
    }
    match upload::disposition_filename(request) {
        Some(name) => {
            Filename::parse(&name).map_err(|invalid| ApiError::field("/headers/content-disposition", invalid))
        }
        None => Ok(Filename::default_for(kind)),
    }
}

/// Attach a file to a ticket, for one of the caller's messages to carry
/// (`attachment_ids` of `POST /v1/tickets/{id}/messages`).
///
/// The body is the file itself, at most 5 MiB (`413 payload_too_large` beyond; the
/// 64 KiB limit of JSON bodies does not apply here). `Content-Type` names its type:
/// `image/png`, `image/jpeg`, `image/gif`, `application/pdf` or `text/plain` (UTF-8);
/// the content must be of that type, checked by its magic bytes (`415
/// unsupported_media_type` otherwise, e.g. for a program named `.png`). A refused upload
/// stores nothing. Files no message took are removed after a day; at most 20 wait at
/// once per caller and ticket (`409 quota_exceeded`).
///
/// Whoever may answer the ticket (grantees need `support`). API keys need
/// `support:write`.
#[utoipa::path(
    tag = "Support",
    params(("id" = String, Path, description = "The ticket's id"), UploadQuery),
    request_body(
        description = "The file",
        content(
            (FileContent = "image/png"), (FileContent = "image/jpeg"), (FileContent = "image/gif"),
            (FileContent = "application/pdf"), (FileContent = "text/plain"),
        ),
    ),
    responses(
        (status = 201, description = "Stored", body = AttachmentView, headers(("Location" = String))),
        (status = 409, description = "`quota_exceeded`: 20 files already wait for a message", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: more than 5 MiB", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: a type not taken, or content that is not of the declared type", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/tickets/{id}/attachments")]
pub async fn upload_attachment(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &id).await?;
    let declared = upload::content_type(&request).unwrap_or_default();
    // The declared type is refused before a byte is read.
    AttachmentType::declared(&declared).map_err(refused)?;
    let content = upload::read_bounded(&request, payload, MAX_ATTACHMENT_BYTES).await?;
    let kind = AttachmentType::check(&declared, &content).map_err(refused)?;
    let filename = filename(&request, &query, kind)?;
    let row =
        use_case::upload(&state, &principal.actor, ticket, Upload { filename, content_type: kind, content }).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/tickets/{}/attachments/{}", row.ticket_id, row.id)))
        .json(AttachmentView::from_row(&row)))
}

/// `Content-Disposition: attachment` with the name in UTF-8 (RFC 6266 `filename*`) and
/// an ASCII stand-in for old clients.
fn as_download(name: &str) -> ContentDisposition {
    let ascii: String = name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.as_bytes().to_vec(),
            }),
        ],
    }
}

/// Download an attachment of a ticket.
///
/// Its uploader may fetch it while no message carries it; after that, whoever sees the
/// message (never the customer's side for an internal note's file); anyone else gets
/// `404`. Always served as a download (`Content-Disposition: attachment`,
/// `X-Content-Type-Options: nosniff`) with its stored type, never shown inline. API
/// keys need `support:read`.
#[utoipa::path(
    tag = "Support",
    params(
        ("id" = String, Path, description = "The ticket's id"),
        ("attachment_id" = String, Path, description = "The attachment's id"),
    ),
    responses((
        status = 200,
        description = "The file",
        content(
            (FileContent = "image/png"), (FileContent = "image/jpeg"), (FileContent = "image/gif"),
            (FileContent = "application/pdf"), (FileContent = "text/plain"),
        ),
        headers(("Content-Disposition" = String), ("X-Content-Type-Options" = String)),
    )),
)]
#[get("/tickets/{id}/attachments/{attachment_id}")]
pub async fn download_attachment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (ticket_id, attachment_id) = path.into_inner();
    let authorized = principal.authorize(Action::ReadTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &ticket_id).await?;
    let (row, content) = use_case::download(&state, &principal.actor, ticket, &attachment_id).await?;
    let content_type = match row.content_type {
        AttachmentType::PlainText => "text/plain; charset=utf-8",
        other => other.mime(),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(as_download(&row.filename))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(content))
}
