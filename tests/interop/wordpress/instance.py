"""WordPress instances of Debian's package, on the MariaDB server of scripts/start-wordpress.

An instance is a copy of ``/usr/share/wordpress`` with its own ``wp-config.php`` (Debian's
reads ``/etc/wordpress/config-HOST.php``, the same file for every port of 127.0.0.1), its own
database, and a ``php -S 127.0.0.1:PORT`` server that tests/e2e's ``Processes`` runs. Tests see
WordPress from outside over HTTP, or from inside through :meth:`WordPress.php`: PHP code run
by the command-line ``php`` with WordPress loaded, as its cron runs ``do_all_pings()``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]
START_WORDPRESS = REPOSITORY / "scripts" / "start-wordpress"
WORDPRESS_TREE = Path("/usr/share/wordpress")
MU_PLUGINS = HERE / "mu-plugins"
ROUTER = HERE / "php" / "router.php"
RUNNER = HERE / "php" / "run.php"
RESULT_MARK = "WP-TEST-RESULT "

# Plain permalinks (/?p=N), and a pretty structure as many blogs use.
PLAIN = ""
PRETTY = "/%year%/%monthnum%/%postname%/"


def missing_packages() -> str | None:
    """What Debian packages WordPress needs here and lacks (``--check``), or None."""
    completed = subprocess.run(
        [START_WORDPRESS, "--check"], capture_output=True, text=True, check=False
    )
    if completed.returncode == 0:
        return None
    return (completed.stdout + completed.stderr).strip() or f"exit {completed.returncode}"


def _run(command: list[str], *, timeout: float = 60, **kwargs: Any) -> str:
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited with {completed.returncode}\n"
            f"--- stdout\n{completed.stdout}--- stderr\n{completed.stderr}"
        )
    return completed.stdout


@dataclass
class MariaDB:
    """The MariaDB server of scripts/start-wordpress in ``directory``: a socket, no TCP port."""

    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "mysqld.sock"

    def start(self) -> None:
        _run([str(START_WORDPRESS), str(self.directory)], timeout=120)

    def stop(self) -> None:
        _run([str(START_WORDPRESS), "--stop", str(self.directory)])

    def execute(self, statement: str) -> str:
        """Run one SQL statement as root; return its rows, tab-separated."""
        return _run(
            [
                *("mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root"),
                *("--batch", "--skip-column-names", "--execute", statement),
            ]
        )


@dataclass
class WordPress:
    """One WordPress blog: its tree and database, on ``http://127.0.0.1:PORT``."""

    name: str
    port: int
    directory: Path
    mariadb: MariaDB
    permalinks: str = PLAIN
    blog_name: str = "A WordPress blog"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def database(self) -> str:
        return f"wordpress_{self.name}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of its PHP processes (``Processes.start`` calls this too)."""
        return {**os.environ, "WP_TEST_HOME": self.base_url, **extra}

    def serve_command(self) -> list[str]:
        """``php -S`` on 127.0.0.1 only; one process, as WordPress's cron is not needed."""
        return ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.directory), str(ROUTER)]

    def create(self) -> None:
        """Copy the tree, write wp-config.php, install WordPress, set its permalinks."""
        # A copy, not symlinks: PHP resolves __DIR__ through links, and WordPress finds its
        # wp-config.php next to the wp-load.php it was loaded from.
        _run(["cp", "-a", str(WORDPRESS_TREE), str(self.directory)])
        (self.directory / ".htaccess").unlink(missing_ok=True)  # a link into /etc/wordpress
        (self.directory / "wp-config.php").unlink()
        (self.directory / "wp-config.php").write_text(self._config())
        self.mariadb.execute(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4")
        self.php(
            """
            // wp_install() mails the password to the admin: nobody reads it here.
            function wp_new_blog_notification( $blog_title, $blog_url, $user_id, $password ) {}
            require_once ABSPATH . 'wp-admin/includes/upgrade.php';
            $result = wp_install(
                $params['blog_name'], 'admin', 'admin@example.invalid', true, '',
                wp_generate_password( 24 )
            );
            """,
            installing=True,
            blog_name=self.blog_name,
        )
        self.php(
            """
            global $wp_rewrite;
            $wp_rewrite->set_permalink_structure( $params['permalinks'] );
            $wp_rewrite->flush_rules( false );  // no .htaccess: php -S routes every path
            // Update services (Ping-o-Matic) would be pinged on every publication.
            update_option( 'ping_sites', '' );
            // No mail server here: the blog does not mail its admin about each ping.
            update_option( 'comments_notify', '' );
            update_option( 'moderation_notify', '' );
            $result = get_option( 'permalink_structure' );
            """,
            permalinks=self.permalinks,
        )

    def _config(self) -> str:
        keys = "\n".join(
            f"define( '{name}', '{secrets.token_hex(32)}' );"
            for name in (
                *("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY"),
                *("AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"),
            )
        )
        return textwrap.dedent(
            f"""\
            <?php
            // Written by tests/interop/wordpress/instance.py for one test module.
            define( 'DB_NAME', '{self.database}' );
            define( 'DB_USER', 'root' );
            define( 'DB_PASSWORD', '' );
            define( 'DB_HOST', 'localhost:{self.mariadb.socket}' );
            define( 'DB_CHARSET', 'utf8mb4' );
            define( 'DB_COLLATE', '' );
            $table_prefix = 'wp_';
            define( 'WP_HOME', '{self.base_url}' );
            define( 'WP_SITEURL', '{self.base_url}' );
            // The suite's must-use plugin: WordPress may reach peers on 127.0.0.0/8.
            define( 'WPMU_PLUGIN_DIR', '{MU_PLUGINS}' );
            // Pings go when a test calls do_all_pings(), not from a page view's cron.
            define( 'DISABLE_WP_CRON', true );
            // No request leaves this machine: only the blog's own host (127.0.0.1) is reached.
            define( 'WP_HTTP_BLOCK_EXTERNAL', true );
            define( 'AUTOMATIC_UPDATER_DISABLED', true );
            define( 'WP_DEBUG', true );
            define( 'WP_DEBUG_DISPLAY', false );
            define( 'WP_DEBUG_LOG', '{self.directory / "debug.log"}' );
            """
        ) + textwrap.dedent(
            f"""\
            {keys}
            if ( ! defined( 'ABSPATH' ) ) {{
                define( 'ABSPATH', __DIR__ . '/' );
            }}
            require_once ABSPATH . 'wp-settings.php';
            """
        )

    def php(
        self, code: str, *, installing: bool = False, timeout: float = 60, **params: Any
    ) -> Any:
        """Run PHP ``code`` with this WordPress loaded; return the ``$result`` it sets.

        The code sees ``$params`` (the keyword arguments, through JSON) and ``$wpdb``.
        """
        extra = {"WP_TEST_PARAMS": json.dumps(params)}
        if installing:
            extra["WP_TEST_INSTALLING"] = "1"
        output = _run(
            ["php", str(RUNNER), str(self.directory)],
            input=textwrap.dedent(code),
            env=self.env(**extra),
            timeout=timeout,
        )
        for line in reversed(output.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line.removeprefix(RESULT_MARK))
        raise AssertionError(f"WordPress {self.name}: the PHP code printed no result:\n{output}")

    def debug_log(self) -> str:
        """WordPress's PHP errors and warnings, without PHP 8.2's deprecations of 6.1's code."""
        path = self.directory / "debug.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(line for line in lines if "PHP Deprecated:" not in line)
