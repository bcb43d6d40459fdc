//! Lists as streams.
//!
//! S2 lists with a cursor: a request takes `start_after` and `limit`, and
//! its answer holds one array of items and `has_more`; the next page starts
//! after the last item's name (or id). The generator finds every operation
//! of that shape in the spec and implements [`CursorList`] for its builder,
//! so a newer spec's lists come with [`CursorList::items`] and
//! [`CursorList::pages`] and no hand-written code.

use std::future::Future;

use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::error::Error;

/// A request of a list operation with S2's cursor shape: the builder of
/// the generated call, with every parameter but the cursor already set (a
/// `prefix`, a `limit` for the page size, a first `start_after`).
///
/// ```no_run
/// # #[cfg(s2_operation = "list_streams")]
/// # async fn f(basin: &s2_openapi::Basin) -> Result<(), s2_openapi::Error> {
/// use futures_util::TryStreamExt as _;
/// use s2_openapi::CursorList as _;
///
/// let mut streams = basin.generated().list_streams().prefix("orders-").items();
/// while let Some(stream) = streams.try_next().await? {
///     println!("{}", stream.name.as_str());
/// }
/// # Ok(()) }
/// ```
pub trait CursorList<'a>: Sized + Send + 'a {
    /// One answer: a page of items and `has_more`.
    type Page: Send + 'a;
    /// One item of a page.
    type Item: Send + 'a;

    /// Sets the cursor: the next page starts after this item's name.
    #[doc(hidden)]
    fn after(self, cursor: String) -> Self;
    /// Sends the request for one page.
    #[doc(hidden)]
    fn fetch(self) -> impl Future<Output = Result<Self::Page, Error>> + Send + 'a;
    /// The page's items.
    #[doc(hidden)]
    fn items_of(page: &Self::Page) -> &[Self::Item];
    /// The page's items, owned.
    #[doc(hidden)]
    fn into_items(page: Self::Page) -> Vec<Self::Item>;
    /// Whether more items follow the page.
    #[doc(hidden)]
    fn has_more(page: &Self::Page) -> bool;
    /// The cursor that follows `item`.
    #[doc(hidden)]
    fn cursor(item: &Self::Item) -> String;

    /// Every page, in order, each request through the request layer (its
    /// retries and deadline are per page). An error ends the stream, after
    /// every page received before it. Boxed, so it is `Unpin`: `try_next`
    /// and `next` work on it as it comes.
    fn pages(self) -> BoxStream<'a, Result<Self::Page, Error>>
    where
        Self: Clone,
    {
        // The request for the next page, and the cursor it starts after.
        let first: Option<(Self, Option<String>)> = Some((self, None));
        stream::try_unfold(first, |next| async move {
            let Some((request, after)) = next else {
                return Ok(None);
            };
            let page = request.clone().fetch().await?;
            let next = match Self::items_of(&page).last() {
                Some(last) if Self::has_more(&page) => {
                    let cursor = Self::cursor(last);
                    // A page ending where the one before did would be
                    // asked for forever.
                    if after.as_ref() == Some(&cursor) {
                        return Err(Error::contradiction("two pages of a list ended at the same item"));
                    }
                    Some((request.after(cursor.clone()), Some(cursor)))
                }
                // More promised and no item to continue after.
                None if Self::has_more(&page) => {
                    return Err(Error::contradiction(
                        "a page of a list said `has_more` and held no item",
                    ));
                }
                _ => None,
            };
            Ok(Some((page, next)))
        })
        .boxed()
    }

    /// Every item of every page, in order. An error ends the stream, after
    /// every item received before it.
    fn items(self) -> BoxStream<'a, Result<Self::Item, Error>>
    where
        Self: Clone,
    {
        self.pages()
            .map_ok(|page| stream::iter(Self::into_items(page).into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

