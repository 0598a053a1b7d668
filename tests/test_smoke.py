from tests.conftest import call


def test_create_app_and_smtp(aws):
    app = call("apps_save", {"name": "Shop", "testemail": "ops@example.net"})
    assert app.status == 200, app.text
    smtp = call(
        "smtps_save",
        {
            "idapp": app.json["_id"],
            "host": "smtp.example.net",
            "port": 587,
            "auth": True,
            "username": "u",
            "password": "pw-secret-1",
        },
    )
    assert smtp.status == 200, smtp.text
    listed = call("smtps_find_by_app", {"idapp": app.json["_id"]})
    assert listed.status == 200
    assert listed.json[0]["_id"] == smtp.json["_id"]
    assert "pw-secret-1" not in listed.text
    assert call("smtps_remove", {"idsmtp": smtp.json["_id"]}).status == 200
    assert call("apps_remove", {"idapp": app.json["_id"]}).status == 200
