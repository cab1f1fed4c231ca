<?php
/**
 * Plugin Name: backlinks_django tests: loopback peers
 * Description: Lets WordPress's HTTP API reach 127.0.0.0/8 on any port, where the interop
 * suite runs its peers. Nothing else: WordPress otherwise behaves as installed.
 */

function backlinks_tests_is_loopback( $host ) {
	return 1 === preg_match( '/^127(\.\d{1,3}){3}$/', (string) $host );
}

// wp_safe_remote_*() (reject_unsafe_urls) refuse private and loopback hosts, except the
// blog's own host, unless this filter says they are external.
add_filter(
	'http_request_host_is_external',
	function ( $external, $host ) {
		return $external || backlinks_tests_is_loopback( $host );
	},
	10,
	2
);

// They also refuse ports other than 80, 443, 8080 and the blog's own: the peers listen on
// ports the suite picks.
add_filter(
	'http_allowed_safe_ports',
	function ( $ports, $host, $url ) {
		$port = wp_parse_url( $url, PHP_URL_PORT );
		if ( $port && backlinks_tests_is_loopback( $host ) ) {
			$ports[] = $port;
		}
		return $ports;
	},
	10,
	3
);
