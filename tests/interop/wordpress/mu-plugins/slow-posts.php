<?php
/**
 * Plugin Name: backlinks_django tests: slow posts
 * Description: A single post whose title starts with "Slow:" answers after two seconds, longer
 * than the receiving site's RECEIVE_BUDGET (1 s), so that a pingback naming it as its source is
 * queued for verification instead of verified in the request.
 */

add_action(
	'template_redirect',
	function () {
		if ( is_singular() && 0 === strpos( get_post_field( 'post_title', get_queried_object_id() ), 'Slow:' ) ) {
			sleep( 2 );
		}
	}
);
