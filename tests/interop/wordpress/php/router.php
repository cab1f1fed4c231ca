<?php
/*
 * Router of `php -S` for a WordPress instance: existing files are served (PHP ones run) as
 * they are, any other path goes to WordPress's front controller, as Apache's rewrite rules
 * do for pretty permalinks.
 */
$root = rtrim( $_SERVER['DOCUMENT_ROOT'], '/' );
$path = rawurldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
if ( '/' !== $path && ( is_file( $root . $path ) || is_file( $root . rtrim( $path, '/' ) . '/index.php' ) ) ) {
	return false;
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir( $root );
require $root . '/index.php';
