def test_front_page(client):
    response = client.get("/")
    assert response.status_code == 200
