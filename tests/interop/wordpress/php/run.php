<?php
/*
 * Runs PHP code of a test inside a WordPress instance, from the command line as WordPress's
 * cron would: `php run.php INSTANCE_DIR < code`. The code sees $params (the JSON in
 * WP_TEST_PARAMS) and sets $result, printed as JSON on the last line after a marker.
 * WP_TEST_INSTALLING=1 loads WordPress before it is installed (for wp_install()).
 */
$instance = $argv[1];
$params   = json_decode( (string) getenv( 'WP_TEST_PARAMS' ), true );
$result   = null;

// What WordPress reads of a request, as from a visitor on this machine.
$home                       = parse_url( (string) getenv( 'WP_TEST_HOME' ) );
$_SERVER['HTTP_HOST']       = $home['host'] . ':' . $home['port'];
$_SERVER['SERVER_NAME']     = $home['host'];
$_SERVER['SERVER_PORT']     = $home['port'];
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';

if ( getenv( 'WP_TEST_INSTALLING' ) ) {
	define( 'WP_INSTALLING', true );
}
require $instance . '/wp-load.php';

eval( stream_get_contents( STDIN ) );

echo "\nWP-TEST-RESULT " . json_encode( $result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) . "\n";
