//! `Idempotency-Key` on POST: the first request with a key runs; a retry with the same body gets
//! the stored response; the same key with another body is refused. Keys live in the database, so
//! every server behind a load balancer sees them.

/// What a key holds when a request claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new: run the request, then complete or release the key.
    Claimed,
    /// The key already answered this same request.
    Replay(StoredResponse),
    /// The key was used for a different request body.
    Mismatch,
    /// A request with this key is still running.
    InFlight,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl crate::App {
    pub async fn claim_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
    ) -> crate::AppResult<IdempotencyClaim> {
        Ok(self
            .store
            .claim_idempotency_key(owner, key, request_hash, self.now_ms())
            .await?)
    }
    pub async fn complete_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        response: &StoredResponse,
    ) -> crate::AppResult<()> {
        Ok(self
            .store
            .complete_idempotency_key(owner, key, response)
            .await?)
    }
    pub async fn release_idempotency_key(&self, owner: &str, key: &str) -> crate::AppResult<()> {
        Ok(self.store.release_idempotency_key(owner, key).await?)
    }
}
