//! Which files may be attached to a record: recognised by their content, never by their name alone,
//! and named safely for storage and download.

/// The kinds of file Stride accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Webp,
    Docx,
    Xlsx,
    Pptx,
    Text,
    Csv,
}

impl FileKind {
    /// The `Content-Type` the file is stored and served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Text => "text/plain; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Pdf => &["pdf"],
            Self::Png => &["png"],
            Self::Jpeg => &["jpg", "jpeg"],
            Self::Gif => &["gif"],
            Self::Webp => &["webp"],
            Self::Docx => &["docx"],
            Self::Xlsx => &["xlsx"],
            Self::Pptx => &["pptx"],
            Self::Text => &["txt"],
            Self::Csv => &["csv"],
        }
    }

    const ALL: [FileKind; 10] = [
        Self::Pdf,
        Self::Png,
        Self::Jpeg,
        Self::Gif,
        Self::Webp,
        Self::Docx,
        Self::Xlsx,
        Self::Pptx,
        Self::Text,
        Self::Csv,
    ];

    fn by_extension(ext: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.extensions().contains(&ext))
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// A program (Windows, Linux or macOS binary, or a script) whatever its name says.
    Executable,
    /// The content is not what the file name's extension claims.
    Mismatch,
    /// Neither the extension nor the content is a kind Stride accepts.
    Unsupported,
}

impl Refusal {
    /// A stable code for field errors.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Executable => "executable",
            Self::Mismatch => "type_mismatch",
            Self::Unsupported => "unsupported_type",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "the file is empty",
            Self::Executable => "programs and scripts cannot be attached",
            Self::Mismatch => "the file's content does not match its extension",
            Self::Unsupported => {
                "only PDF, PNG, JPEG, GIF, WebP, Word/Excel/PowerPoint (docx/xlsx/pptx), text and CSV files"
            }
        }
    }
}

/// The kind announced by the first bytes, for binary formats and programs.
enum Magic {
    Kind(FileKind),
    /// A ZIP container: an Office document only when it has the Office package manifest.
    OfficePackage,
    Zip,
    Executable,
}

fn magic(bytes: &[u8]) -> Option<Magic> {
    const MACH_O: [&[u8]; 5] = [
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    let starts = |m: &[u8]| bytes.starts_with(m);
    // Binary programs always carry NUL bytes in their headers, so a text that merely begins with
    // "MZ" (a CSV column, say) is still text; a `#!` script is a program however textual.
    let binary_program = (starts(b"MZ") || starts(b"\x7fELF") || MACH_O.iter().any(|m| starts(m)))
        && !is_text(bytes);
    Some(if binary_program || starts(b"#!") {
        Magic::Executable
    } else if starts(b"%PDF-") {
        Magic::Kind(FileKind::Pdf)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Magic::Kind(FileKind::Png)
    } else if starts(b"\xff\xd8\xff") {
        Magic::Kind(FileKind::Jpeg)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Magic::Kind(FileKind::Gif)
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Magic::Kind(FileKind::Webp)
    } else if starts(b"PK\x03\x04") {
        // Entry names are stored uncompressed, so the manifest's name is visible in the bytes.
        let manifest = b"[Content_Types].xml";
        if bytes.windows(manifest.len()).any(|w| w == manifest) {
            Magic::OfficePackage
        } else {
            Magic::Zip
        }
    } else {
        return None;
    })
}

/// Plain text: UTF-8 (a byte-order mark allowed) without NUL bytes.
fn is_text(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    !body.contains(&0) && std::str::from_utf8(body).is_ok()
}

/// The lower-case extension of a file name, if it has one.
fn extension(file_name: &str) -> Option<String> {
    file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| !ext.is_empty())
}

/// Decides what a file is from its content and checks that its name agrees.
pub fn sniff(file_name: &str, bytes: &[u8]) -> Result<FileKind, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    let claimed = extension(file_name).and_then(|e| FileKind::by_extension(&e));
    let office = [FileKind::Docx, FileKind::Xlsx, FileKind::Pptx];
    match (magic(bytes), claimed) {
        (Some(Magic::Executable), _) => Err(Refusal::Executable),
        (Some(Magic::Kind(found)), Some(claimed)) if found == claimed => Ok(found),
        (Some(Magic::OfficePackage), Some(claimed)) if office.contains(&claimed) => Ok(claimed),
        (None, Some(claimed @ (FileKind::Text | FileKind::Csv))) if is_text(bytes) => Ok(claimed),
        (_, Some(_)) => Err(Refusal::Mismatch),
        (Some(Magic::Kind(_) | Magic::OfficePackage), None) => Err(Refusal::Mismatch),
        (Some(Magic::Zip) | None, None) => Err(Refusal::Unsupported),
    }
}

/// The longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// A file name safe to store and to send back: only the last path segment, without control
/// characters, quotes or characters file systems refuse, and never hidden or empty.
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '\'' | '<' | '>' | ':' | '*' | '?' | '|' | ';')
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return "file".to_owned();
    }
    let chars = trimmed.chars().count();
    if chars <= MAX_FILE_NAME_CHARS {
        return trimmed.to_owned();
    }
    // Too long: shorten the stem and keep the extension, which decides the kind.
    let ext = extension(trimmed).filter(|e| e.chars().count() <= 10);
    let keep = MAX_FILE_NAME_CHARS - ext.as_ref().map_or(0, |e| e.chars().count() + 1);
    let stem: String = trimmed.chars().take(keep).collect();
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn recognises_each_accepted_kind_by_content() {
        assert_eq!(sniff("a.pdf", b"%PDF-1.4\n..."), Ok(FileKind::Pdf));
        assert_eq!(sniff("a.PNG", PNG), Ok(FileKind::Png));
        assert_eq!(sniff("a.jpeg", b"\xff\xd8\xff\xe0JFIF"), Ok(FileKind::Jpeg));
        assert_eq!(sniff("a.jpg", b"\xff\xd8\xff\xe0JFIF"), Ok(FileKind::Jpeg));
        assert_eq!(sniff("a.gif", b"GIF89a...."), Ok(FileKind::Gif));
        assert_eq!(
            sniff("a.webp", b"RIFF\x10\0\0\0WEBPVP8 "),
            Ok(FileKind::Webp)
        );
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml";
        assert_eq!(sniff("报价.docx", docx), Ok(FileKind::Docx));
        assert_eq!(sniff("a.xlsx", docx), Ok(FileKind::Xlsx));
        assert_eq!(sniff("a.pptx", docx), Ok(FileKind::Pptx));
        assert_eq!(
            sniff("纪要.txt", "会议纪要\n".as_bytes()),
            Ok(FileKind::Text)
        );
        assert_eq!(
            sniff("a.csv", b"\xef\xbb\xbfname,amount\n"),
            Ok(FileKind::Csv)
        );
    }

    #[test]
    fn text_that_happens_to_start_like_a_program_is_text() {
        assert_eq!(
            sniff("a.csv", "MZ 公司,100\n".as_bytes()),
            Ok(FileKind::Csv)
        );
    }

    #[test]
    fn refuses_programs_whatever_their_name() {
        for bytes in [
            &b"MZ\x90\0\x03"[..],
            b"\x7fELF\x02\x01\x01\0",
            b"\xcf\xfa\xed\xfe\x07",
            b"#!/bin/sh\nrm -rf /\n",
        ] {
            for name in ["a.pdf", "a.txt", "a.exe", "a"] {
                assert_eq!(sniff(name, bytes), Err(Refusal::Executable), "{name}");
            }
        }
    }

    #[test]
    fn refuses_content_that_does_not_match_the_extension() {
        assert_eq!(sniff("a.pdf", PNG), Err(Refusal::Mismatch));
        assert_eq!(sniff("a.png", b"%PDF-1.7"), Err(Refusal::Mismatch));
        assert_eq!(sniff("a.pdf", b"just text"), Err(Refusal::Mismatch));
        // A plain ZIP is not an Office document.
        assert_eq!(
            sniff("a.docx", b"PK\x03\x04 plain zip"),
            Err(Refusal::Mismatch)
        );
        // Text must be UTF-8 without NUL bytes.
        assert_eq!(sniff("a.txt", b"abc\0def"), Err(Refusal::Mismatch));
        assert_eq!(sniff("a.csv", b"\xc4\xe3\xba\xc3"), Err(Refusal::Mismatch));
        // A known format under an unknown or missing extension.
        assert_eq!(sniff("a", b"%PDF-1.7"), Err(Refusal::Mismatch));
    }

    #[test]
    fn refuses_unknown_and_empty_files() {
        assert_eq!(
            sniff("a.zip", b"PK\x03\x04 plain zip"),
            Err(Refusal::Unsupported)
        );
        assert_eq!(sniff("a.html", b"<html>"), Err(Refusal::Unsupported));
        assert_eq!(sniff("a.txt", b""), Err(Refusal::Empty));
    }

    #[test]
    fn file_names_lose_paths_controls_and_quotes() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\me\\报价单.pdf"), "报价单.pdf");
        assert_eq!(safe_file_name("a\"b'\r\n\tc.txt"), "abc.txt");
        assert_eq!(safe_file_name(".htaccess"), "htaccess");
        assert_eq!(safe_file_name("../"), "file");
        assert_eq!(safe_file_name("  "), "file");
        let long = format!("{}.pdf", "长".repeat(300));
        let safe = safe_file_name(&long);
        assert_eq!(safe.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(safe.ends_with(".pdf"));
    }
}
