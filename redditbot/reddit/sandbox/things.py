"""Turn world items into the JSON Reddit sends: t1, t3, t2, ``more`` objects and listings.

Field names and value types follow real responses (see /work/shared/reddit-api.md); the
conformance test compares these shapes with recorded exchanges.
"""

from __future__ import annotations

import html
import re
from typing import Any

from redditbot.reddit.sandbox.world import InboxEntry, Post, Reply, Subreddit, User, World

JSON = dict[str, Any]

_SLUG = re.compile(r"[^a-z0-9]+")


def listing(children: list[JSON], after: str | None = None, before: str | None = None) -> JSON:
    """Reddit's Listing envelope."""
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": before,
        },
    }


def body_html(text: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p)
    return f'<!-- SC_OFF --><div class="md">{paragraphs}</div><!-- SC_ON -->'


def permalink(post: Post) -> str:
    slug = _SLUG.sub("_", post.title.lower()).strip("_")[:50]
    return f"/r/{post.subreddit}/comments/{post.id}/{slug}/"


def _visible(thing: Post | Reply) -> tuple[str, str]:
    """(author, text) as readers see them: deletion and removal blank both."""
    text = thing.selftext if isinstance(thing, Post) else thing.body
    if thing.deleted:
        return "[deleted]", "[deleted]"
    if thing.removed:
        return "[deleted]" if isinstance(thing, Reply) else thing.author, "[removed]"
    return thing.author, text


def _author_fields(world: World, author: str) -> JSON:
    user = world.user(author)
    if author == "[deleted]" or user is None:
        return {}
    return {
        "author_fullname": f"t2_{user.id}",
        "author_premium": False,
        "author_patreon_flair": False,
        "author_flair_type": "text",
        "author_flair_richtext": [],
    }


def _common(world: World, sub: Subreddit | None, thing: Post | Reply) -> JSON:
    return {
        "approved_at_utc": None,
        "subreddit": thing.subreddit,
        "subreddit_id": f"t5_{sub.id}" if sub else "t5_0",
        "subreddit_name_prefixed": f"r/{thing.subreddit}",
        "subreddit_type": "private" if sub and sub.private else "public",
        "id": thing.id,
        "name": thing.fullname,
        "saved": False,
        "gilded": 0,
        "likes": None,
        "ups": thing.score,
        "downs": 0,
        "score": thing.score,
        "edited": False,
        "created": thing.created_utc,
        "created_utc": thing.created_utc,
        "archived": thing.archived,
        "locked": thing.locked,
        "stickied": thing.stickied,
        "distinguished": thing.distinguished,
        "no_follow": True,
        "can_mod_post": False,
        "can_gild": False,
        "send_replies": True,
        "gildings": {},
        "all_awardings": [],
        "awarders": [],
        "total_awards_received": 0,
        "top_awarded_type": None,
        "user_reports": [],
        "mod_reports": [],
        "report_reasons": None,
        "num_reports": None,
        "banned_by": None,
        "banned_at_utc": None,
        "approved_by": None,
        "mod_note": None,
        "mod_reason_by": None,
        "mod_reason_title": None,
        "removal_reason": None,
        "author_flair_background_color": None,
        "author_flair_css_class": None,
        "author_flair_template_id": None,
        "author_flair_text": None,
        "author_flair_text_color": None,
        "author_is_blocked": False,
        "treatment_tags": [],
    }


def submission_data(world: World, post: Post) -> JSON:
    """The ``data`` of a t3."""
    author, text = _visible(post)
    sub = world.subreddit(post.subreddit)
    link = permalink(post)
    data = _common(world, sub, post)
    data.update(_author_fields(world, author))
    data.update(
        {
            "author": author,
            "title": post.title,
            "selftext": text,
            "selftext_html": body_html(text) if text else None,
            "permalink": link,
            "url": post.url or f"https://www.reddit.com{link}",
            "domain": f"self.{post.subreddit}" if not post.url else _domain(post.url),
            "is_self": not post.url,
            "over_18": post.over_18,
            "spoiler": False,
            "num_comments": _comment_count(world, post),
            "num_crossposts": 0,
            "upvote_ratio": 1.0,
            "removed_by_category": _removed_by(post),
            "removed_by": None,
            "thumbnail": "self" if not post.url else "default",
            "thumbnail_height": None,
            "thumbnail_width": None,
            "link_flair_text": post.flair_text,
            "link_flair_css_class": None,
            "link_flair_richtext": [],
            "link_flair_type": "text",
            "link_flair_text_color": "dark",
            "link_flair_background_color": "",
            "hidden": False,
            "hide_score": False,
            "clicked": False,
            "visited": False,
            "quarantine": False,
            "pinned": False,
            "contest_mode": False,
            "is_video": False,
            "is_meta": False,
            "is_original_content": False,
            "is_reddit_media_domain": False,
            "is_crosspostable": True,
            "is_robot_indexable": True,
            "is_created_from_ads_ui": False,
            "allow_live_comments": False,
            "media_only": False,
            "media": None,
            "media_embed": {},
            "secure_media": None,
            "secure_media_embed": {},
            "category": None,
            "content_categories": None,
            "discussion_type": None,
            "suggested_sort": None,
            "view_count": None,
            "subreddit_subscribers": sub.subscribers if sub else 0,
            "pwls": 6,
            "wls": 6,
        }
    )
    if post.flair_id:  # Reddit sends the key only for posts with a flair template
        data["link_flair_template_id"] = post.flair_id
    return data


def _domain(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0]


def _removed_by(post: Post) -> str | None:
    if post.deleted:
        return "deleted"
    return "moderator" if post.removed else None


def _comment_count(world: World, post: Post) -> int:
    return len(world.descendants(post.fullname))


def comment_data(world: World, reply: Reply, replies: JSON | str = "") -> JSON:
    """The ``data`` of a t1; ``replies`` is "" or a nested Listing."""
    author, text = _visible(reply)
    sub = world.subreddit(reply.subreddit)
    post = world.get(reply.link_id)
    data = _common(world, sub, reply)
    data.update(_author_fields(world, author))
    data.update(
        {
            "author": author,
            "body": text,
            "body_html": body_html(text),
            "link_id": reply.link_id,
            "parent_id": reply.parent_id,
            "permalink": f"{permalink(post)}{reply.id}/",  # type: ignore[arg-type]
            "depth": reply.depth,
            "replies": replies,
            "is_submitter": author == post.author,
            "score_hidden": False,
            "controversiality": 0,
            "collapsed": reply.removed or reply.deleted,
            "collapsed_reason": None,
            "collapsed_reason_code": "DELETED" if reply.removed or reply.deleted else None,
            "collapsed_because_crowd_control": None,
            "associated_award": None,
            "unrepliable_reason": None,
            "comment_type": None,
        }
    )
    return data


def comment_listing_item(world: World, reply: Reply) -> JSON:
    """A t1 as it appears in flat listings (subreddit comments, info, user comments)."""
    data = comment_data(world, reply)
    post = world.get(reply.link_id)
    data.update(
        {
            "link_title": post.title,  # type: ignore[union-attr]
            "link_author": _visible(post)[0],
            "link_permalink": f"https://www.reddit.com{permalink(post)}",  # type: ignore[arg-type]
            "link_url": f"https://www.reddit.com{permalink(post)}",  # type: ignore[arg-type]
            "num_comments": _comment_count(world, post),  # type: ignore[arg-type]
            "over_18": post.over_18,
            "quarantine": False,
        }
    )
    return {"kind": "t1", "data": data}


def thing(world: World, item: Post | Reply) -> JSON:
    """A t3 or flat t1 with its ``kind``."""
    if isinstance(item, Post):
        return {"kind": "t3", "data": submission_data(world, item)}
    return comment_listing_item(world, item)


def more(parent_id: str, depth: int, children: list[str], count: int) -> JSON:
    """A ``more`` object; ``children`` empty and count 0 means "continue this thread"."""
    mid = children[0] if children else "_"
    return {
        "kind": "more",
        "data": {
            "count": count,
            "name": f"t1_{mid}",
            "id": mid,
            "parent_id": parent_id,
            "depth": depth,
            "children": children,
        },
    }


def inbox_item(world: World, entry: InboxEntry, owner: str) -> JSON:
    """A comment as it appears in /message/unread and /message/mentions."""
    reply = world.get(entry.comment)
    assert isinstance(reply, Reply)
    author, text = _visible(reply)
    post = world.get(reply.link_id)
    user = world.user(author)
    subject = {"username_mention": "username mention", "post_reply": "post reply"}
    return {
        "kind": "t1",
        "data": {
            "first_message": None,
            "first_message_name": None,
            "subreddit": reply.subreddit,
            "likes": None,
            "replies": "",
            "author_fullname": f"t2_{user.id}" if user else None,
            "id": reply.id,
            "subject": subject.get(entry.kind, "comment reply"),
            "associated_awarding_id": None,
            "score": reply.score,
            "author": author,
            "num_comments": _comment_count(world, post),  # type: ignore[arg-type]
            "parent_id": reply.parent_id,
            "subreddit_name_prefixed": f"r/{reply.subreddit}",
            "new": entry.new,
            "type": entry.kind,
            "body": text,
            "link_title": post.title,  # type: ignore[union-attr]
            "dest": owner,
            "was_comment": True,
            "body_html": body_html(text),
            "name": reply.fullname,
            "created": reply.created_utc,
            "created_utc": reply.created_utc,
            "context": f"{permalink(post)}{reply.id}/?context=3",  # type: ignore[arg-type]
            "distinguished": None,
        },
    }


def _public_profile(user: User) -> JSON:
    """Fields of a t2 that anyone may see."""
    return {
        "is_employee": False,
        "is_friend": False,
        "is_blocked": False,
        "subreddit": _profile_subreddit(user),
        "snoovatar_img": "",
        "snoovatar_size": None,
        "awardee_karma": 0,
        "awarder_karma": 0,
        "id": user.id,
        "verified": True,
        "is_gold": False,
        "is_mod": False,
        "has_verified_email": True,
        "icon_img": "https://www.redditstatic.com/avatars/defaults/v2/avatar_default_1.png",
        "hide_from_robots": False,
        "link_karma": user.link_karma,
        "comment_karma": user.comment_karma,
        "total_karma": user.link_karma + user.comment_karma,
        "pref_show_snoovatar": False,
        "accept_chats": False,
        "accept_pms": True,
        "accept_followers": True,
        "has_subscribed": True,
        "name": user.name,
        "created": user.created_utc,
        "created_utc": user.created_utc,
    }


def _profile_subreddit(user: User) -> JSON:
    return {
        "display_name": f"u_{user.name}",
        "display_name_prefixed": f"u/{user.name}",
        "title": "",
        "public_description": "",
        "subreddit_type": "user",
        "url": f"/user/{user.name}/",
        "name": f"t5_{user.id}",
        "over_18": False,
        "user_is_banned": False,
        "subscribers": 0,
    }


def _private_profile(user: User) -> JSON:
    """Fields only the account itself sees (/api/v1/me, its own /about)."""
    return {
        "has_visited_new_profile": False,
        "pref_no_profanity": True,
        "has_external_account": False,
        "pref_geopopular": "",
        "pref_show_trending": True,
        "pref_show_presence": False,
        "gold_expiration": None,
        "has_gold_subscription": False,
        "is_sponsor": False,
        "num_friends": 0,
        "features": {},
        "can_edit_name": False,
        "new_modmail_exists": False,
        "pref_autoplay": False,
        "coins": 0,
        "has_paypal_subscription": False,
        "has_subscribed_to_premium": False,
        "has_stripe_subscription": False,
        "can_create_subreddit": True,
        "over_18": False,
        "suspension_expiration_utc": None,
        "is_suspended": False,
        "pref_video_autoplay": False,
        "in_chat": False,
        "has_android_subscription": False,
        "has_ios_subscription": False,
        "in_redesign_beta": False,
        "in_beta": False,
        "has_mod_mail": False,
        "pref_nightmode": False,
        "password_set": True,
        "force_password_reset": False,
        "inbox_count": 0,
        "pref_top_karma_subreddits": True,
        "has_mail": False,
        "pref_clickgadget": 5,
        "gold_creddits": 0,
        "pref_show_twitter": False,
    }


def me(user: User, client_id: str = "") -> JSON:
    """The flat object of /api/v1/me."""
    data = {**_public_profile(user), **_private_profile(user)}
    for key in ("is_friend", "is_blocked", "accept_chats", "accept_pms"):
        data.pop(key)
    data.update(
        {
            "oauth_client_id": client_id,
            "linked_identities": [],
            "seen_layout_switch": False,
            "seen_redesign_modal": True,
            "seen_give_award_tooltip": False,
            "seen_premium_adblock_modal": False,
            "seen_subreddit_chat_ftux": False,
        }
    )
    return data


def about_user(user: User, viewer: str | None) -> JSON:
    """The t2 of /user/{name}/about; the account itself sees its private fields too."""
    data = _public_profile(user)
    if viewer and viewer.lower() == user.name.lower():
        data.update(_private_profile(user))
        data["modhash"] = None
        for key in ("accept_chats", "accept_pms"):
            data.pop(key)
    return {"kind": "t2", "data": data}
